"""``python -m gatehouse_client``: log in once, then call the API from the shell.

    python -m gatehouse_client login http://127.0.0.1:8000 -u demo
    python -m gatehouse_client get /notes
    python -m gatehouse_client post /notes '{"text": "hello"}'
    python -m gatehouse_client delete /notes/<id>
    python -m gatehouse_client logout [--everywhere]

The account, without a session (the API root is given, as for ``login``):

    python -m gatehouse_client register URL -u alice [--email alice@example.com]
    python -m gatehouse_client verify-email URL -u alice
    python -m gatehouse_client forgot-password URL (-u alice | --email alice@example.com)
    python -m gatehouse_client reset-password URL -u alice

and with one:

    python -m gatehouse_client change-email alice@example.org
    python -m gatehouse_client delete-account

An account with a second factor: ``login`` then asks for the authenticator
app's code (``$GATEHOUSE_OTP``), or with ``--recovery-code`` for a recovery
code (``$GATEHOUSE_RECOVERY_CODE``).

Passwords come from ``$GATEHOUSE_PASSWORD`` (the new one for
``reset-password`` from ``$GATEHOUSE_NEW_PASSWORD``) and mailed codes from
``$GATEHOUSE_CODE``, else from a prompt that does not echo, or a line each
on a piped stdin; never from an argument: it would show in ``ps`` and the
shell history.  The session and this machine's device tokens are kept in a
0600 token file (see ``gatehouse_client.tokenfile``); refreshed tokens are
written back to it.

An expected failure (no server, an error answer, no session, a bad
argument) prints one line saying what to do and exits non-zero: 1 for an
error, 2 for a bad argument or missing input, 3 when a login is needed.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import NoReturn, TextIO

from gatehouse_client import client as api
from gatehouse_client.client import GatehouseClient, GatehouseError, MfaRequired, Reply, Tokens
from gatehouse_client.tokenfile import TokenFile, TokenFileError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_LOGGED_OUT = 3
EXIT_INTERRUPTED = 130
PROG = "python -m gatehouse_client"
NOT_LOGGED_IN = f"Not logged in: run `{PROG} login URL` first."


class Failure(Exception):
    """An expected failure: the one line that says what to do, and the exit status."""

    def __init__(self, line: str, status: int = EXIT_ERROR) -> None:
        super().__init__(line)
        self.line = line
        self.status = status


class _Parser(argparse.ArgumentParser):
    # argparse prints the whole usage and exits; one line that points at --help
    # says the same without burying it.  Subcommand parsers are this class too.
    def error(self, message: str) -> NoReturn:
        raise Failure(f"{self.prog}: {message} (see `{self.prog} --help`)", EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--token-file",
        help="where the session is kept (default: $GATEHOUSE_TOKEN_FILE or ~/.config/gatehouse/tokens.json)",
    )
    parser.add_argument(
        "--timeout", type=_seconds, default=10.0, help="seconds to wait for the server (default: 10)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    login = commands.add_parser("login", help="log in and keep the session in the token file")
    login.add_argument("url", help="the API root, e.g. http://127.0.0.1:8000")
    login.add_argument("-u", "--username", help="default: $GATEHOUSE_USERNAME, else asked")
    login.add_argument("--device", default="gatehouse_client (command line)", help="a name for this session")
    login.add_argument(
        "--recovery-code",
        action="store_true",
        help="for an account with a second factor: give a recovery code ($GATEHOUSE_RECOVERY_CODE or asked) "
        "instead of the app's code ($GATEHOUSE_OTP or asked)",
    )
    login.add_argument(
        "--no-remember", action="store_true", help="do not let this device skip the second factor next time"
    )

    logout = commands.add_parser(
        "logout", help="end this session (or every one) and remove it from the token file"
    )
    logout.add_argument("--everywhere", action="store_true", help="end every session of this user")

    for method in ("get", "delete"):
        command = commands.add_parser(
            method, help=f"{method.upper()} a path of the API and print the JSON answer"
        )
        command.add_argument("path")
    for method in ("post", "put"):
        command = commands.add_parser(
            method, help=f"{method.upper()} a JSON body ('-' or nothing: read stdin)"
        )
        command.add_argument("path")
        command.add_argument("body", nargs="?", default="-")

    def public(name: str, help: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help)
        command.add_argument("url", help="the API root, e.g. http://127.0.0.1:8000")
        return command

    register = public("register", "create an account (password from $GATEHOUSE_PASSWORD or asked)")
    register.add_argument("-u", "--username", help="default: $GATEHOUSE_USERNAME, else asked")
    register.add_argument("--email", help="an address to verify (a code is mailed to it)")

    verify = public("verify-email", "confirm the address with the mailed code ($GATEHOUSE_CODE or asked)")
    verify.add_argument("-u", "--username", help="default: $GATEHOUSE_USERNAME, else asked")

    forgot = public("forgot-password", "have a reset code mailed to the account's verified address")
    who = forgot.add_mutually_exclusive_group(required=True)
    who.add_argument("-u", "--username")
    who.add_argument("--email")

    reset = public(
        "reset-password", "set a new password with the mailed code ($GATEHOUSE_CODE, $GATEHOUSE_NEW_PASSWORD)"
    )
    reset.add_argument("-u", "--username", help="default: $GATEHOUSE_USERNAME, else asked")

    change = commands.add_parser(
        "change-email", help="change the address (current password from $GATEHOUSE_PASSWORD or asked)"
    )
    change.add_argument("email")

    commands.add_parser(
        "delete-account",
        help="delete this account for good (current password from $GATEHOUSE_PASSWORD or asked)",
    )
    return parser


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds above 0")
    return value


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    io = _Io(stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr, env)
    try:
        args = _parser().parse_args(argv)
        store = (
            TokenFile.default(env)
            if args.token_file is None
            else TokenFile(Path(args.token_file).expanduser())
        )
        return _run(args, store, io)
    except Failure as failure:
        io.say(failure.line)
        return failure.status
    except TokenFileError as error:
        io.say(f"Error: {error}")
        return EXIT_ERROR
    except KeyboardInterrupt:
        io.say("Interrupted.")
        return EXIT_INTERRUPTED


class _Io:
    def __init__(self, stdin: TextIO, stdout: TextIO, stderr: TextIO, env: Mapping[str, str]) -> None:
        self.stdin, self.stdout, self.stderr, self.env = stdin, stdout, stderr, env

    @property
    def interactive(self) -> bool:
        return self.stdin.isatty()

    def say(self, line: str) -> None:
        # One line, whatever the server put in its message: no line breaks, no
        # terminal control characters.
        print(" ".join("".join(c if c.isprintable() else " " for c in line).split()), file=self.stderr)

    def ask(self, prompt: str, env_var: str) -> str:
        value = self.env.get(env_var)
        if not value:
            if self.interactive:
                print(prompt, end="", file=self.stderr, flush=True)
            value = self.stdin.readline().strip()
        if not value:
            what = prompt.rstrip(": ").lower()
            raise Failure(f"No {what} given: pass it with -u, set ${env_var} or type it.", EXIT_USAGE)
        return value

    def secret(self, what: str, env_var: str, *, confirm: bool = False) -> str:
        """From the environment, else a prompt without echo, else a line of a piped stdin."""
        value = self.env.get(env_var)
        if not value:
            if self.interactive:
                value = getpass.getpass(f"{what}: ", stream=self.stderr)
                if confirm and value and getpass.getpass(f"{what} again: ", stream=self.stderr) != value:
                    raise Failure(f"The two {what.lower()}s differ: run the command again.", EXIT_USAGE)
            else:
                value = self.stdin.readline().rstrip("\r\n")
        if not value:
            raise Failure(
                f"No {what.lower()} given: set ${env_var}, type it at the prompt or pipe it in.", EXIT_USAGE
            )
        return value


def _run(args: argparse.Namespace, store: TokenFile, io: _Io) -> int:
    command: str = args.command
    if command == "login":
        return _login(args, store, io)
    if command in PUBLIC_COMMANDS:
        client = _client(args, args.url, store)
        try:
            PUBLIC_COMMANDS[command](client, args, io)
        except GatehouseError as error:
            raise _failure(error, client, url_given=True) from None
        return 0

    saved = store.load()
    if saved is None:
        raise Failure(NOT_LOGGED_IN, EXIT_LOGGED_OUT)
    client = _client(args, saved.base_url, store, saved.tokens)
    try:
        if command == "logout":
            if args.everywhere:
                client.logout_everywhere()
            else:
                client.logout()
            store.forget_session()
            return 0
        if command == "change-email":
            client.change_email(io.secret("Current password", "GATEHOUSE_PASSWORD"), args.email)
            verify = (
                f"{PROG} verify-email {client.base_url} -u {shlex.quote(saved.tokens.username or 'NAME')}"
            )
            io.say(f"Email changed to {args.email}; enter the code mailed there with `{verify}`.")
            return 0
        if command == "delete-account":
            client.delete_account(io.secret("Current password", "GATEHOUSE_PASSWORD"))
            io.say("Account deleted; its sessions have ended.")
            return 0
        return _call(args, client, io)
    except GatehouseError as error:
        raise _failure(error, client, url_given=False) from None


def _call(args: argparse.Namespace, client: GatehouseClient, io: _Io) -> int:
    body = None
    if args.command in ("post", "put"):
        text = io.stdin.read() if args.body == "-" else args.body
        try:
            body = json.loads(text)
        except ValueError:
            raise Failure('The body must be JSON, e.g. \'{"text": "hello"}\'.', EXIT_USAGE) from None
    try:
        reply = client.request(args.command.upper(), args.path, json=body)
    except ValueError as error:  # a URL outside the API: the token is not sent there
        raise Failure(f"Error: {error}; give a path such as /notes.", EXIT_USAGE) from None
    if not reply.ok:
        raise _failure(GatehouseError.from_reply(reply), client, url_given=False)
    _show(reply, io.stdout)
    return 0


def _login(args: argparse.Namespace, store: TokenFile, io: _Io) -> int:
    url = args.url.rstrip("/")
    client = _client(args, url, store, device_tokens=_device_tokens(store, url))
    username = args.username or io.ask("Username: ", "GATEHOUSE_USERNAME")
    password = io.secret("Password", "GATEHOUSE_PASSWORD")
    try:
        try:
            client.login(username, password, device=args.device)
        except MfaRequired as challenge:
            _second_factor(client, challenge, args, io)
    except GatehouseError as error:
        failure = _failure(error, client, url_given=True)
        raise Failure(failure.line.replace("Error", "Login failed", 1), failure.status) from None
    io.say(f"Logged in to {client.base_url} as {username}; session kept in {store.path}")
    return 0


def _second_factor(
    client: GatehouseClient, challenge: MfaRequired, args: argparse.Namespace, io: _Io
) -> None:
    """The account has a second factor: the app's code, or with --recovery-code one of those."""
    if args.recovery_code:
        code = io.secret("Recovery code", "GATEHOUSE_RECOVERY_CODE")
        client.login_with_recovery_code(challenge, code, remember_device=not args.no_remember)
    else:
        code = io.secret("Code from the authenticator app", "GATEHOUSE_OTP")
        client.login_with_otp(challenge, code, remember_device=not args.no_remember)


def _register(client: GatehouseClient, args: argparse.Namespace, io: _Io) -> None:
    username = args.username or io.ask("Username: ", "GATEHOUSE_USERNAME")
    password = io.secret("Password", "GATEHOUSE_PASSWORD", confirm=True)
    client.register(username, password, email=args.email)
    who = f"{client.base_url} -u {shlex.quote(username)}"
    if args.email:
        io.say(
            f"Registered {username}; enter the code mailed to {args.email} with `{PROG} verify-email {who}`."
        )
    else:
        io.say(f"Registered {username}; log in with `{PROG} login {who}`.")


def _verify_email(client: GatehouseClient, args: argparse.Namespace, io: _Io) -> None:
    username = args.username or io.ask("Username: ", "GATEHOUSE_USERNAME")
    client.verify_email(username, io.secret("Code", "GATEHOUSE_CODE"))
    io.say(f"Email address of {username} verified.")


def _forgot_password(client: GatehouseClient, args: argparse.Namespace, io: _Io) -> None:
    client.forgot_password(username=args.username, email=args.email)
    io.say(
        "If the account has a verified address, a code is on its way: "
        f"use it with `{PROG} reset-password {client.base_url} -u NAME`."
    )


def _reset_password(client: GatehouseClient, args: argparse.Namespace, io: _Io) -> None:
    username = args.username or io.ask("Username: ", "GATEHOUSE_USERNAME")
    code = io.secret("Code", "GATEHOUSE_CODE")
    password = io.secret("New password", "GATEHOUSE_NEW_PASSWORD", confirm=True)
    client.reset_password(username, code, password)
    who = f"{client.base_url} -u {shlex.quote(username)}"
    io.say(f"Password of {username} changed and every session ended; log in with `{PROG} login {who}`.")


PUBLIC_COMMANDS: dict[str, Callable[[GatehouseClient, argparse.Namespace, _Io], None]] = {
    "register": _register,
    "verify-email": _verify_email,
    "forgot-password": _forgot_password,
    "reset-password": _reset_password,
}


def _device_tokens(store: TokenFile, url: str) -> dict[str, str]:
    try:
        return store.device_tokens(url)
    except TokenFileError:
        return {}  # the login writes a good file; without them it counts against the name


def _client(
    args: argparse.Namespace,
    url: str,
    store: TokenFile,
    tokens: Tokens | None = None,
    device_tokens: Mapping[str, str] | None = None,
) -> GatehouseClient:
    base_url = url.rstrip("/")

    def save_tokens(tokens: Tokens | None) -> None:
        if tokens is None:
            store.forget_session()
        else:
            store.save(base_url, tokens)

    def save_device_token(key: str, token: str | None) -> None:
        store.save_device_token(base_url, key, token)

    try:
        return GatehouseClient(
            base_url,
            tokens=tokens,
            on_tokens=save_tokens,
            device_tokens=device_tokens,
            on_device_token=save_device_token,
            timeout=args.timeout,
        )
    except ValueError:
        raise Failure(
            f"{url!r} is not an API root: give an http(s) URL such as http://127.0.0.1:8000.", EXIT_USAGE
        ) from None


_NETWORK_HINTS = {
    api.REFUSED: "start the API (`make run`) or {where}",
    api.NAME_NOT_FOUND: "check the host name, or {where}",
    api.TIMED_OUT: "check that the server is up, then try again, or {where}",
    api.NOT_HTTP: "check the URL and its port, or {where}",
}


def _failure(error: GatehouseError, client: GatehouseClient, *, url_given: bool) -> Failure:
    if error.code == "not_logged_in":
        return Failure(NOT_LOGGED_IN, EXIT_LOGGED_OUT)
    if error.status == 0:
        where = "pass the URL where it runs" if url_given else "log in with the URL where it runs"
        hint = _NETWORK_HINTS.get(error.network or "", "check the URL and the network")
        return Failure(f"Error: {error.message}: {hint.format(where=where)}.")
    if error.status == 401 and not url_given and not client.logged_in:
        return Failure("The session has ended: log in again.", EXIT_LOGGED_OUT)
    wait = f" (wait {error.retry_after} s)" if error.status == 429 and error.retry_after else ""
    return Failure(f"Error {error.status} {error.code}: {error.message}{wait}")


def _show(reply: Reply, stdout: TextIO) -> None:
    if not reply.body:
        return
    try:
        print(json.dumps(reply.json(), indent=2, ensure_ascii=False), file=stdout)
    except ValueError:
        print(reply.body.decode("utf-8", "replace"), file=stdout)
