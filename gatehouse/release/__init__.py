"""Release tooling: builds what ``make package`` deploys.  Shipped nowhere (not in the Lambda zip)."""
