"""``python -m gatehouse_client``: log in once, then call the API from the shell.

    python -m gatehouse_client login http://127.0.0.1:8000 -u demo
    python -m gatehouse_client get /notes
    python -m gatehouse_client post /notes '{"text": "hello"}'
    python -m gatehouse_client delete /notes/<id>
    python -m gatehouse_client logout [--everywhere]

The password comes from ``$GATEHOUSE_PASSWORD`` or a prompt (never an
argument: it would show in ``ps`` and the shell history).  The session is
kept in a 0600 token file (see ``gatehouse_client.tokenfile``); refreshed
tokens are written back to it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TextIO

from gatehouse_client.client import GatehouseClient, GatehouseError, Reply, Tokens
from gatehouse_client.tokenfile import TokenFile, TokenFileError

EXIT_ERROR = 1
EXIT_LOGGED_OUT = 3


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gatehouse_client", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--token-file",
        help="where the session is kept (default: $GATEHOUSE_TOKEN_FILE or ~/.config/gatehouse/tokens.json)",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    login = commands.add_parser("login", help="log in and keep the session in the token file")
    login.add_argument("url", help="the API root, e.g. http://127.0.0.1:8000")
    login.add_argument("-u", "--username", help="default: $GATEHOUSE_USERNAME, else asked")
    login.add_argument("--device", default="gatehouse_client (command line)", help="a name for this session")

    logout = commands.add_parser("logout", help="end this session (or every one) and delete the token file")
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
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] = os.environ,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    args = _parser().parse_args(argv)
    store = (
        TokenFile.default(env) if args.token_file is None else TokenFile(Path(args.token_file).expanduser())
    )
    try:
        if args.command == "login":
            return _login(args, store, env, stdin, stderr)
        saved = store.load()
        if saved is None:
            print("Not logged in: run `python -m gatehouse_client login URL` first.", file=stderr)
            return EXIT_LOGGED_OUT
        client = GatehouseClient(saved.base_url, tokens=saved.tokens, on_tokens=_saver(store, saved.base_url))
        if args.command == "logout":
            if args.everywhere:
                client.logout_everywhere()
            else:
                client.logout()
            store.delete()
            return 0
        body = None
        if args.command in ("post", "put"):
            text = stdin.read() if args.body == "-" else args.body
            try:
                body = json.loads(text)
            except ValueError:
                print('The body must be JSON, e.g. \'{"text": "hello"}\'.', file=stderr)
                return EXIT_ERROR
        reply = client.request(args.command.upper(), args.path, json=body)
        return _show(reply, client, stdout, stderr)
    except (GatehouseError, TokenFileError, ValueError) as error:
        print(f"Error: {error}", file=stderr)
        return EXIT_ERROR


def _saver(store: TokenFile, base_url: str) -> Callable[[Tokens | None], None]:
    def save(tokens: Tokens | None) -> None:
        if tokens is None:
            store.delete()
        else:
            store.save(base_url, tokens)

    return save


def _login(
    args: argparse.Namespace, store: TokenFile, env: Mapping[str, str], stdin: TextIO, stderr: TextIO
) -> int:
    username = args.username or env.get("GATEHOUSE_USERNAME") or _ask("Username: ", stdin, stderr)
    password = env.get("GATEHOUSE_PASSWORD") or getpass.getpass("Password: ", stream=stderr)
    client = GatehouseClient(args.url, on_tokens=_saver(store, args.url.rstrip("/")))
    try:
        client.login(username, password, device=args.device)
    except GatehouseError as error:
        wait = f" Try again in {error.retry_after} s." if error.retry_after else ""
        print(f"Login failed: {error.message}{wait}", file=stderr)
        return EXIT_ERROR
    print(f"Logged in to {client.base_url} as {username}; session kept in {store.path}", file=stderr)
    return 0


def _ask(prompt: str, stdin: TextIO, stderr: TextIO) -> str:
    print(prompt, end="", file=stderr, flush=True)
    return stdin.readline().strip()


def _show(reply: Reply, client: GatehouseClient, stdout: TextIO, stderr: TextIO) -> int:
    if reply.ok:
        if reply.body:
            print(json.dumps(reply.json(), indent=2, ensure_ascii=False), file=stdout)
        return 0
    error = GatehouseError.from_reply(reply)
    if reply.status == 401 and not client.logged_in:
        print("The session has ended: log in again.", file=stderr)
        return EXIT_LOGGED_OUT
    print(f"Error {reply.status} {error.code}: {error.message}", file=stderr)
    return EXIT_ERROR
