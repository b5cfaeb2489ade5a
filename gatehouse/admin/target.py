"""Which Gatehouse stack a command acts on, decided before any AWS call.

In this order:

1. an AWS target the operator gave: ``--stack NAME``, ``AWS_ENDPOINT_URL``,
   ``AWS_PROFILE`` or ``AWS_ACCESS_KEY_ID`` in the environment: AWS as
   configured, with ``GATEHOUSE_*`` names (or the stack's outputs);
2. otherwise the local stack ``make run`` (or ``chalice local``) is running
   in this checkout, found through its state file (gatehouse.admin.localstate);
3. otherwise nothing: :class:`NoTarget`, whose message says what to do.

Credentials that merely happen to be there (a default profile in ``~/.aws``,
an instance role) are never a target by themselves: a developer who forgot
to start ``make run`` must not end up deleting users in production.  The
command prints the target it chose (:func:`describe`) before it acts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from gatehouse.admin import localstate

EXPLICIT_AWS = ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_ACCESS_KEY_ID")
NO_TARGET = (
    "No Gatehouse stack found: start `make run` for the local one, or name a deployed one "
    "(--stack NAME, with AWS_PROFILE or AWS credentials); the default profile is never used unasked."
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


def choose(env: Mapping[str, str], *, stack_name: str | None) -> Target:
    if stack_name or any(env.get(name) for name in EXPLICIT_AWS):
        return Target()
    running = localstate.find(env)
    if running is not None:
        return Target(running, running.aws_environment(), dict(running.settings))
    raise NoTarget()


def describe(
    chosen: Target,
    env: Mapping[str, str],
    *,
    stack_name: str | None,
    users_table: str,
    account: Callable[[], tuple[str, str]],
) -> str:
    """One line saying where the command is about to act.

    ``account``: the AWS account id and region the credentials reach (one STS
    call), asked only for a deployed stack.
    """
    if chosen.local is not None:
        local = chosen.local
        return f"Target: the local stack of this checkout (embedded AWS {local.endpoint}, API {local.api})"
    where = f"stack {stack_name}" if stack_name else f"users table {users_table} (GATEHOUSE_* names)"
    account_id, region = account()
    endpoint = env.get("AWS_ENDPOINT_URL")
    through = f", endpoint {endpoint}" if endpoint else ""
    return f"Target: AWS account {account_id}, region {region}{through}, {where}"
