"""Which Chalice project a command works on: never where this package is installed.

Gatehouse is installed into a project's virtualenv (or anywhere on the path), so
the project is found from the working directory, as ``chalice`` itself finds it:
the nearest directory, from there upwards, with ``.chalice/config.json`` (or the
one ``--project-dir`` names).
"""

from __future__ import annotations

from pathlib import Path

CONFIG = Path(".chalice") / "config.json"


class ProjectNotFound(Exception):
    """No Chalice project where the command was asked to work; the message says what to do.

    Not a :class:`~gatehouse.errors.GatehouseError`: a command's refusal, printed as its one line;
    it never reaches the HTTP edge.
    """


def find(start: Path | str | None = None) -> Path:
    """The project: ``start`` (default: the working directory) or its nearest parent with a config."""
    here = Path(start).resolve() if start is not None else Path.cwd().resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG).is_file():
            return candidate
    raise ProjectNotFound(
        f"no Chalice project at {here} (no {CONFIG} there or above): run this in your project "
        "(made by `chalice new-project`) or pass --project-dir"
    )


def find_or_here(start: Path | str | None = None) -> Path:
    """:func:`find`, else the directory itself (for names that only need to be stable per checkout)."""
    try:
        return find(start)
    except ProjectNotFound:
        return Path(start).resolve() if start is not None else Path.cwd().resolve()
