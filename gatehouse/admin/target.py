"""Which Gatehouse stack a command acts on, decided before any AWS call.

In this order:

1. an AWS target the operator gave: ``--stack NAME``, ``AWS_ENDPOINT_URL``,
   ``AWS_PROFILE`` or ``AWS_ACCESS_KEY_ID`` in the environment: AWS as
   configured, with ``GATEHOUSE_*`` names (or the stack's outputs);
2. otherwise the local stack ``make run`` (or ``chalice local``) is running
   in this checkout, found through its state file (gatehouse.admin.localstate);
3. otherwise AWS, if the default credential chain finds credentials
   (``~/.aws``, an instance role);
4. otherwise nothing: :class:`NoTarget`, whose message says what to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gatehouse.admin import localstate

EXPLICIT_AWS = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID")
NO_TARGET = (
    "No Gatehouse stack found: start `make run`, "
    "or set AWS credentials and GATEHOUSE_* (or --stack NAME) for a deployed stack."
)


class NoTarget(Exception):
    """No stack or local stack to act on; the message says how to name one.

    Not a :class:`~gatehouse.errors.GatehouseError`: a refusal of the admin CLI, printed as its
    one line; it never reaches the HTTP edge.
    """

    def __init__(self) -> None:
        super().__init__(NO_TARGET)


@dataclass(frozen=True)
class Target:
    local: localstate.LocalStack | None = None
    # Set in the process environment before boto3 is used (the local stack's endpoint).
    aws_environment: dict[str, str] = field(default_factory=dict)
    # GATEHOUSE_* names that replace those of the environment.
    settings: dict[str, str] = field(default_factory=dict)


def _default_chain_has_credentials() -> bool:
    import boto3

    return boto3.Session().get_credentials() is not None


def choose(
    env: Mapping[str, str],
    *,
    stack_name: str | None,
    has_credentials: Callable[[], bool] = _default_chain_has_credentials,
) -> Target:
    if stack_name or any(env.get(name) for name in EXPLICIT_AWS):
        return Target()
    running = localstate.find(env)
    if running is not None:
        return Target(running, running.aws_environment(), dict(running.settings))
    if has_credentials():
        return Target()
    raise NoTarget()
