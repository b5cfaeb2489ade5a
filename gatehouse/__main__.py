"""``gatehouse`` (console script) and ``python -m gatehouse``: the project commands.

``gatehouse init`` sets a Chalice project up for Gatehouse (gatehouse.init.command);
``gatehouse --version`` prints the installed version.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from gatehouse import __version__

USAGE = "usage: gatehouse init [--check] [--force] [--project-dir DIR] | gatehouse --version"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["init"]:
        from gatehouse.init.command import main as init

        return init(args[1:])
    if args[:1] == ["--version"]:
        print(f"gatehouse-chalice {__version__}")
        return 0
    if args[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
