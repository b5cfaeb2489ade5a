"""``make run``: the embedded AWS, then ``chalice local`` on http://127.0.0.1:$PORT.

Everything runs in this one process, so Ctrl-C stops all of it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gatehouse-run", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--stage", default="dev")
    args = parser.parse_args(argv)

    from chalice.cli.factory import CLIFactory

    from gatehouse_dev import gateway, stack

    gateway.install()
    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    # Loading the config imports app.py and applies the stage's environment
    # variables; the stack's own variables (endpoint, JWKS) are added after.
    config = factory.create_config_obj(chalice_stage_name=args.stage)
    app = config.chalice_app
    # moto's server logs every request it serves; only its errors matter here.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    aws, users = stack.start(os.environ)
    try:
        server = factory.create_local_server(app, config, args.host, args.port)
        print(f"Embedded AWS (moto) on {os.environ['AWS_ENDPOINT_URL']}", flush=True)
        for user in users:
            shown = user.password if user.generated else "(from the environment)"
            print(f"Seeded user {user.username!r}, password: {shown}", flush=True)
        print(f"Gatehouse ready on http://{args.host}:{args.port}", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        aws.stop()
    return 0


if __name__ == "__main__":
    from chalicelib.gatehouse.errors import ConfigError

    try:
        sys.exit(main())
    except ConfigError as error:
        # A bad GATEHOUSE_* value: one line naming the variable, not a traceback.
        sys.exit(f"make run: {error.message}")
