"""``make run``: the embedded AWS, then ``chalice local`` on http://127.0.0.1:$PORT.

The same start-up as plain ``chalice local`` on the dev stage
(gatehouse.dev.embedded), without its file-watching reloader, and with the
embedded AWS even when ``AWS_ENDPOINT_URL`` is set.  Everything runs in this
one process, so Ctrl-C or SIGTERM stops all of it, after saving its data.
A failure the developer can fix (port in use, a refused GATEHOUSE_* value)
is one line and exit status 1.

It listens on loopback unless asked (``--host``, ``make run HOST=0.0.0.0``):
the seeded users have published passwords, so reaching it from a phone on the
local network is a choice, with a warning.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from pathlib import Path

READY = "Gatehouse ready on"


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _lan_address() -> str | None:
    """This machine's address on its network (what a phone uses); None when it has none."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: picks the outgoing interface, sends nothing
            return str(probe.getsockname()[0])
        except OSError:
            return None


def _reachable_at(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):  # noqa: S104 (reported, and only when asked)
        return _lan_address() or host
    return host


def _aws_port(value: str) -> int:
    return 0 if value == "0" else _port(value)


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (1 to 65535)")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gatehouse-run", description=__doc__)
    parser.add_argument(
        "--host", default=os.environ.get("HOST") or "127.0.0.1", help="0.0.0.0: the local network"
    )
    parser.add_argument("--port", type=_port, default=os.environ.get("PORT") or "8000")
    parser.add_argument(
        "--aws-port", type=_aws_port, help="the embedded AWS's (default: AWS_PORT, else --port + 1)"
    )
    parser.add_argument(
        "--fresh",
        action="store_true",
        default=os.environ.get("FRESH", "") not in ("", "0"),
        help="forget the saved data, start empty (FRESH=1)",
    )
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--project-dir", type=Path, help="the Chalice project (default: found from here)")
    args = parser.parse_args(argv)

    from gatehouse.dev import embedded

    embedded.stop_cleanly_on_signals()
    from chalice.cli.factory import CLIFactory

    from gatehouse import project
    from gatehouse.errors import GatehouseError

    if args.host not in LOOPBACK:
        print(
            f"warning: listening on {args.host}, not loopback: anyone on this network can reach "
            "the dev stack and its seeded passwords.",
            file=sys.stderr,
            flush=True,
        )
    try:
        try:
            project_dir = project.find(args.project_dir)
        except project.ProjectNotFound as missing:
            raise embedded.StartError(str(missing)) from None
        embedded.install(os.environ, always=True, options=embedded.Options(args.aws_port, args.fresh))
        factory = CLIFactory(str(project_dir), environ=os.environ)
        # Loading the config imports app.py and applies the stage's environment variables;
        # creating the server then binds the port and starts the embedded AWS.
        config = factory.create_config_obj(chalice_stage_name=args.stage)
        try:
            app = config.chalice_app
        except GatehouseError as misconfigured:  # a GATEHOUSE_* value app.py reads at import
            raise embedded.StartError(misconfigured.message) from None
        server = factory.create_local_server(app, config, args.host, args.port)
        print(f"{READY} http://{_reachable_at(args.host)}:{args.port}", flush=True)
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        embedded.stop()
    return 0


if __name__ == "__main__":
    from gatehouse.errors import ConfigError

    try:
        status = main()
    except ConfigError as error:
        # A bad GATEHOUSE_* value: one line naming the variable, not a traceback.
        sys.exit(f"make run: {error.message}")
    # Everything is stopped and saved: skip the interpreter's final garbage collection of
    # moto's and botocore's objects, which takes seconds and would only delay the exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
