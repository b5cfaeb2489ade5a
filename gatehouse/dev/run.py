"""``make run``: the embedded AWS, then ``chalice local`` on http://127.0.0.1:$PORT.

The same start-up as plain ``chalice local`` on the dev stage
(gatehouse.dev.embedded), without its file-watching reloader, and with the
embedded AWS even when ``AWS_ENDPOINT_URL`` is set.  Everything runs in this
one process, so Ctrl-C stops all of it.  A failure the developer can fix
(port in use, a refused GATEHOUSE_* value) is one line and exit status 1.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from types import FrameType

READY = "Gatehouse ready on"


def _stop_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds like Ctrl-C: the state file is removed, moto stops


def _port(value: str) -> int:
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (1 to 65535)")
    return int(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gatehouse-run", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=_port, default=os.environ.get("PORT") or "8000")
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--project-dir", type=Path, help="the Chalice project (default: found from here)")
    args = parser.parse_args(argv)

    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    from chalice.cli.factory import CLIFactory

    from gatehouse import project
    from gatehouse.dev import embedded
    from gatehouse.errors import GatehouseError

    try:
        try:
            project_dir = project.find(args.project_dir)
        except project.ProjectNotFound as missing:
            raise embedded.StartError(str(missing)) from None
        embedded.install(os.environ, always=True)
        factory = CLIFactory(str(project_dir), environ=os.environ)
        # Loading the config imports app.py and applies the stage's environment variables;
        # creating the server then binds the port and starts the embedded AWS.
        config = factory.create_config_obj(chalice_stage_name=args.stage)
        try:
            app = config.chalice_app
        except GatehouseError as misconfigured:  # a GATEHOUSE_* value app.py reads at import
            raise embedded.StartError(misconfigured.message) from None
        server = factory.create_local_server(app, config, args.host, args.port)
        print(f"{READY} http://{args.host}:{args.port}", flush=True)
        server.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        embedded.stop()
    return 0


if __name__ == "__main__":
    from gatehouse.errors import ConfigError

    try:
        sys.exit(main())
    except ConfigError as error:
        # A bad GATEHOUSE_* value: one line naming the variable, not a traceback.
        sys.exit(f"make run: {error.message}")
