"""Running the examples of README.md and docs/*.md: extraction, sessions, output matching."""
