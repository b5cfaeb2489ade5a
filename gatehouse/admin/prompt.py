"""Reading a new password without it ever being a command-line argument.

Arguments end up in shell history and in every process listing (``ps``),
so a password comes from, in this order: standard input when asked for
(``--password-stdin``, for scripts and pipes), the ``GATEHOUSE_NEW_PASSWORD``
variable, or a prompt on the terminal (typed twice, not echoed).
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Mapping
from typing import TextIO

PASSWORD_VARIABLE = "GATEHOUSE_NEW_PASSWORD"  # noqa: S105 (a variable name, not a password)


class PasswordInputError(Exception):
    """The new password could not be read (no terminal, no match, nothing on stdin).

    Not a :class:`~gatehouse.errors.GatehouseError`: a refusal of the admin CLI, printed as its
    one line; it never reaches the HTTP edge.
    """


def read_new_password(
    *,
    from_stdin: bool,
    stdin: TextIO,
    env: Mapping[str, str],
    ask: Callable[[str], str] | None = None,
) -> str:
    if from_stdin:
        # One line; only the line break is removed, spaces are part of a password.
        password = stdin.readline().rstrip("\r\n")
        if not password:
            raise PasswordInputError("No password on standard input.")
        return password
    if env.get(PASSWORD_VARIABLE):
        return env[PASSWORD_VARIABLE]
    if not stdin.isatty():
        raise PasswordInputError(
            f"No password: pass --password-stdin, set {PASSWORD_VARIABLE}, or run on a terminal."
        )
    ask = ask or getpass.getpass  # looked up now, so tests can stand in for the terminal
    first = ask("New password: ")
    if ask("Repeat it: ") != first:
        raise PasswordInputError("The two passwords differ.")
    return first
