"""``python -m gatehouse.admin``: users and signing keys, against real AWS or the local moto stack.

Where it acts (gatehouse.target): a deployed stack named by the standard AWS
variables (credentials, region, ``AWS_ENDPOINT_URL``) and Gatehouse's own
settings (``GATEHOUSE_*_TABLE``, ``GATEHOUSE_SIGNING_KEY_PARAM``) or its
outputs (``--stack``); with none of those, the local stack ``make run`` is
running, with no set-up at all.  The same code runs in both places.  Every
expected failure (no stack, no region or credentials, AWS refusing) is one
line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping
from typing import TextIO

from gatehouse.accounts import admin as admin_accounts
from gatehouse.accounts import look_alikes
from gatehouse.admin import keyring, prompt, stackinfo, target, useradmin
from gatehouse.admin.keystore import KeyStore, KeyStoreError, jwks_parameter_for
from gatehouse.errors import GatehouseError, StoreError
from gatehouse.jose.keys import DEFAULT_ALGORITHM, SUPPORTED_ALGORITHMS, generate_signing_jwk
from gatehouse.roles import ADMIN
from gatehouse.services import Services
from gatehouse.settings import Settings, load_settings
from gatehouse.storage import aws, tables
from gatehouse.storage.aws import error_code

# The most events one `events` command prints.
EVENTS_MAX = 1000
# Time for the redeploy that publishes a new key before it starts signing.
DEFAULT_ACTIVATE_IN = 1800
Clock = Callable[[], float]


class CommandError(Exception):
    """A command refused to act; the message says why.

    Not a :class:`~gatehouse.errors.GatehouseError`: a refusal of the admin CLI, printed as its
    one line; it never reaches the HTTP edge.
    """


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gatehouse.admin",
        description="Gatehouse users and signing keys, in AWS or the local stack.",
    )
    parser.add_argument("--stack", help="read table and parameter names from this CloudFormation stack")
    parser.add_argument("--jwks-param", help="the public JWKS parameter (default: <signing key dir>/jwks)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    users = commands.add_parser("list-users", help="every user: roles, created, disabled (never a hash)")
    users.add_argument("--json", action="store_true")

    create = commands.add_parser("create-user", help="add a user (password from a prompt, stdin or env)")
    create.add_argument("username")
    create.add_argument("--role", action="append", default=[], help="repeatable; default: user")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")

    roles = commands.add_parser("set-roles", help="replace a user's roles (removing one ends sessions)")
    roles.add_argument("username")
    roles.add_argument("roles", nargs="*", metavar="ROLE")
    _confirmable(roles, "when the admin role is removed")

    for name, text in (("disable-user", "disable a user and end all their sessions"), ("enable-user", None)):
        command = commands.add_parser(name, help=text or "enable a disabled user")
        command.add_argument("username")
        if name == "disable-user":
            _confirmable(command)
    unlock = commands.add_parser("unlock", help="clear a user's failed-login counters (lift a lockout)")
    unlock.add_argument("username")

    events = commands.add_parser(
        "events", help="a user's security events, newest first (logins, changes, admin actions)"
    )
    events.add_argument("username", nargs="?", help="the user (omit with --account-id)")
    events.add_argument(
        "--account-id", help="read by account id instead: a deleted account's events (its log line names it)"
    )
    events.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    events.add_argument("--json", action="store_true")

    delete = commands.add_parser(
        "delete-user", help="delete a user, their sessions and email claim; the app's hooks remove its data"
    )
    delete.add_argument("username")
    _confirmable(delete)

    first = commands.add_parser("create-signing-key", help="make the first signing key and the JWKS")
    first.add_argument("--alg", choices=sorted(SUPPORTED_ALGORITHMS), default=DEFAULT_ALGORITHM)
    first.add_argument("--kms-key-id", help="customer managed KMS key for the SecureString")
    first.add_argument(
        "--force",
        action="store_true",
        help="replace existing keys: breaks every token, and logins until redeployed",
    )
    _confirmable(first, "with --force")

    rotate = commands.add_parser("rotate-signing-key", help="add a new key; it signs after a redeploy")
    rotate.add_argument("--alg", choices=sorted(SUPPORTED_ALGORITHMS), default=DEFAULT_ALGORITHM)
    rotate.add_argument("--kms-key-id", help="customer managed KMS key for the SecureString")
    rotate.add_argument(
        "--activate-in",
        type=int,
        default=DEFAULT_ACTIVATE_IN,
        metavar="SECONDS",
        help=f"when the new key starts signing (default {DEFAULT_ACTIVATE_IN}); redeploy before then",
    )

    retire = commands.add_parser("retire-key", help="remove a key whose tokens have all expired")
    retire.add_argument("kid")
    retire.add_argument("--force", action="store_true", help="even if tokens signed with it may be valid")
    _confirmable(retire)

    listing = commands.add_parser("list-keys", help="the stored keys and what each is doing")
    listing.add_argument("--json", action="store_true")

    commands.add_parser("create-tables", help="make the tables, for the `chalice deploy` route")
    commands.add_parser(
        "claim-skeletons",
        help="give accounts made before look-alike names were refused the claim of their skeleton",
    )
    return parser


def _confirmable(command: argparse.ArgumentParser, when: str = "") -> None:
    text = "do not ask for confirmation" + (f" ({when})" if when else "")
    command.add_argument("--yes", "-y", action="store_true", help=text)


def confirm(args: argparse.Namespace, stdin: TextIO, question: str) -> None:
    """Go on only with ``--yes`` or a ``y`` typed on a terminal; else :class:`CommandError`."""
    if getattr(args, "yes", False):
        return
    if not stdin.isatty():
        raise CommandError(f"{args.command} asks for confirmation: run it on a terminal, or pass --yes.")
    print(f"{question} [y/N] ", end="", file=sys.stderr, flush=True)
    if stdin.readline().strip().lower() not in ("y", "yes"):
        raise CommandError("Not confirmed; nothing was changed.")


class Context:
    """What a command needs, built on first use (a user command never touches SSM)."""

    def __init__(
        self,
        args: argparse.Namespace,
        env: Mapping[str, str],
        clock: Clock,
        chosen: target.Target,
        stdin: TextIO,
    ) -> None:
        self.args = args
        self.env = env
        self.clock = clock
        self.stdin = stdin
        overrides = dict(chosen.settings)
        if args.stack:
            overrides = stackinfo.settings_from_stack(aws.session().client("cloudformation"), args.stack)
        self.settings: Settings = load_settings({**env, **overrides})

    def now(self) -> int:
        return int(self.clock())

    def confirm(self, question: str) -> None:
        confirm(self.args, self.stdin, question)

    def services(self) -> Services:
        return Services(self.settings, clock=self.clock)

    def keystore(self) -> KeyStore:
        signing = self.settings.signing_key_param
        return KeyStore(
            aws.ssm(),
            signing_key_param=signing,
            jwks_param=self.args.jwks_param or jwks_parameter_for(signing),
            kms_key_id=getattr(self.args, "kms_key_id", None),
        )

    def token_lifetime(self) -> int:
        # What the verifier accepts: a token lives its TTL plus the clock-skew leeway.
        return self.settings.access_token_ttl + self.settings.leeway


# -- user commands ---------------------------------------------------------------


def list_users(ctx: Context) -> None:
    users = [u.public() for u in ctx.services().users.list()]
    if ctx.args.json:
        print(json.dumps(users, indent=2))
        return
    if not users:
        print("No users.")
    for user in users:
        state = "  DISABLED" if user["disabled"] else ""
        roles = ",".join(user["roles"]) or "(no roles)"
        print(f"{user['username']:<24} {roles:<16} created {keyring.iso(user['created_at'])}{state}")


def create_user(ctx: Context, stdin: TextIO, env: Mapping[str, str]) -> None:
    password = prompt.read_new_password(from_stdin=ctx.args.password_stdin, stdin=stdin, env=env)
    user = useradmin.create_user(ctx.services(), ctx.args.username, password, ctx.args.role)
    print(f"Created user {user.username!r} with roles {', '.join(user.roles)}.")


def set_roles(ctx: Context) -> None:
    rt = ctx.services()
    current = rt.users.get(admin_accounts.account_name(ctx.args.username))
    if current is not None and ADMIN in current.roles and ADMIN not in ctx.args.roles:
        ctx.confirm(f"Remove the {ADMIN} role from {current.username!r} (ends their sessions)?")
    changed = useradmin.set_roles(rt, ctx.args.username, ctx.args.roles)
    print(f"Roles: {', '.join(changed.before) or '(none)'} -> {', '.join(changed.after) or '(none)'}.")
    if changed.sessions_ended:
        print(f"A role was removed: ended {changed.sessions_ended} session(s).")


def set_disabled(ctx: Context, disabled: bool) -> None:
    if disabled:
        ctx.confirm(f"Disable {ctx.args.username!r} and end all their sessions?")
    ended = useradmin.set_disabled(ctx.services(), ctx.args.username, disabled)
    if disabled:
        print(f"Disabled {ctx.args.username!r}; ended {ended} session(s).")
    else:
        print(f"Enabled {ctx.args.username!r}.")


def unlock_user(ctx: Context) -> None:
    cleared = useradmin.unlock(ctx.services(), ctx.args.username)
    print(f"Unlocked {ctx.args.username!r}; cleared {cleared} counter(s).")


def list_events(ctx: Context) -> None:
    args = ctx.args
    if (args.username is None) == (args.account_id is None):
        raise CommandError("Name a user, or give --account-id ID (not both).")
    if not 1 <= args.limit <= EVENTS_MAX:
        raise CommandError(f"--limit must be from 1 to {EVENTS_MAX}.")
    found = useradmin.events(ctx.services(), args.username, args.account_id, args.limit)
    if args.json:
        print(json.dumps(found, indent=2))
        return
    if not found:
        print("No events.")
    for event in found:
        extra = " ".join(
            f"{name}={event[name]!r}"
            for name in ("device", "user_agent", "source_ip", "session", "actor", "detail")
            if event[name]
        )
        print(f"{keyring.iso(event['at'])}  {event['kind']:<20} {extra}".rstrip())


def delete_user(ctx: Context) -> None:
    ctx.confirm(f"Delete {ctx.args.username!r}, their sessions and their data, for good?")
    hooks = useradmin.app_hooks()
    deleted = useradmin.delete_user(ctx.services(), ctx.args.username, hooks)
    print(f"Deleted {deleted.username!r}; ended {deleted.sessions_ended} session(s); ", end="")
    print(f"ran {len(hooks)} app hook(s).")
    if deleted.hooks_failed:
        print(f"{deleted.hooks_failed} app hook(s) failed; the log line account_deleted_hook names them.")


def claim_skeletons(ctx: Context) -> None:
    done = look_alikes.claim_skeletons(ctx.services())
    print(f"Claimed the skeleton of {len(done.claimed)} name(s).")
    for name, holder in done.look_alikes:
        print(f"{name!r} looks like the older {holder!r}, which holds the claim; {name!r} keeps its name.")


def create_tables(ctx: Context) -> None:
    client = aws.dynamodb().meta.client
    # The app's own tables too (its gate.table(...) lines), named as its functions will name them.
    app_tables = useradmin.app_table_definitions(ctx.env)
    try:
        tables.create_tables(client, ctx.settings, wait=True, extra=app_tables)
    except Exception as exc:
        if error_code(exc) == "ResourceInUseException":
            raise CommandError("A table already exists; nothing was changed after it.") from None
        raise
    for definition in tables.table_definitions(ctx.settings) + app_tables:
        # What the CloudFormation template also turns on: restore to any second of the last 35 days.
        client.update_continuous_backups(
            TableName=definition["TableName"],
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
        print(f"Created table {definition['TableName']!r}.")


# -- key commands -------------------------------------------------------------------


def create_signing_key(ctx: Context) -> None:
    store = ctx.keystore()
    if store.exists():
        if not ctx.args.force:
            raise KeyStoreError(
                f"{store.signing_key_param!r} already holds keys: use rotate-signing-key "
                "(or --force to replace them all, which breaks every token)."
            )
        ctx.confirm(f"Replace every key in {store.signing_key_param!r} (every token stops working)?")
    now = ctx.now()
    key = keyring.stamped(generate_signing_jwk(ctx.args.alg), now=now, activate_at=now)
    store.save([key])
    print(f"Created signing key {key['kid']} ({ctx.args.alg}) in {store.signing_key_param!r}.")
    print(f"Published its public half in {store.jwks_param!r}; deploy the stack to use it.")


def rotate_signing_key(ctx: Context) -> None:
    if ctx.args.activate_in < 0:
        raise CommandError("--activate-in cannot be negative.")
    store = ctx.keystore()
    keys = store.load()
    now = ctx.now()
    activate_at = now + ctx.args.activate_in
    new = keyring.stamped(generate_signing_jwk(ctx.args.alg), now=now, activate_at=activate_at)
    store.save(keyring.add(keys, new))
    lifetime = ctx.token_lifetime()
    print(f"Added signing key {new['kid']} ({ctx.args.alg}); published in {store.jwks_param!r}.")
    print(f"1. Redeploy before {keyring.iso(activate_at)}: it signs from then on, once deployed.")
    print(
        f"2. Retire the older key(s) after {keyring.iso(activate_at + lifetime)} "
        "(retire-key KID; if the redeploy came later, wait one token lifetime after it)."
    )


def retire_key(ctx: Context) -> None:
    ctx.confirm(f"Retire key {ctx.args.kid} (tokens it signed stop working after the redeploy)?")
    store = ctx.keystore()
    remaining = keyring.retire(
        store.load(), ctx.args.kid, token_lifetime=ctx.token_lifetime(), now=ctx.now(), force=ctx.args.force
    )
    store.save(remaining)
    print(f"Retired key {ctx.args.kid}; {store.jwks_param!r} no longer publishes it.")
    print("Redeploy so the functions stop accepting it.")


def list_keys(ctx: Context) -> None:
    store = ctx.keystore()
    statuses = keyring.describe(store.load(), token_lifetime=ctx.token_lifetime(), now=ctx.now())
    published_doc = store.published()
    published = {k["kid"] for k in json.loads(published_doc)["keys"]} if published_doc else set()
    rows = [
        {
            "kid": s.kid,
            "alg": s.alg,
            "state": s.state,
            "published": s.kid in published,
            "created_at": s.created_at,
            "not_before": s.not_before,
            "retirable_at": s.retirable_at,
        }
        for s in statuses
    ]
    if ctx.args.json:
        print(json.dumps(rows, indent=2))
        return
    now = ctx.now()
    for s in statuses:
        print(
            f"{s.kid}  {s.alg:<6} {s.state:<9} {'published' if s.kid in published else 'UNPUBLISHED'}  "
            f"created {keyring.iso(s.created_at)}  signs from {keyring.iso(s.not_before)}  "
            f"retirable {_retirable(s.retirable_at, now)}"
        )


def _retirable(when: int | None, now: int) -> str:
    if when is None:
        return "no (signing)"
    return "now" if when <= now else keyring.iso(when)


# -- entry point ---------------------------------------------------------------------


def _account() -> tuple[str, str]:
    """The AWS account the credentials reach, and the region: one STS call."""
    from botocore.exceptions import NoRegionError

    session = aws.session()
    if not session.region_name:  # STS itself would answer from its global endpoint
        raise NoRegionError()
    identity = session.client("sts").get_caller_identity()
    return str(identity["Account"]), session.region_name


KNOWN_ERRORS = (
    CommandError,
    keyring.RotationError,
    KeyStoreError,
    prompt.PasswordInputError,
    stackinfo.StackError,
    target.NoTarget,
)
LOCAL_HINT = "or start `make run` to act on the local stack"


def aws_failure(error: BaseException) -> str | None:
    """One line saying what to do about a botocore failure, or one that caused ``error``; else None."""
    from botocore import exceptions as aws_errors

    seen: BaseException | None = error
    for _ in range(5):  # the error itself, or the cause a repository error hides
        if seen is None or isinstance(seen, (aws_errors.BotoCoreError, aws_errors.ClientError)):
            break
        seen = seen.__cause__ or seen.__context__
    if isinstance(seen, aws_errors.ProfileNotFound):
        return f"No AWS profile {seen.kwargs.get('profile')!r}: check AWS_PROFILE, {LOCAL_HINT}."
    if isinstance(seen, aws_errors.NoRegionError):
        return f"No AWS region: set AWS_DEFAULT_REGION (for example eu-west-1), {LOCAL_HINT}."
    if isinstance(seen, (aws_errors.NoCredentialsError, aws_errors.PartialCredentialsError)):
        return f"No AWS credentials: configure them (aws configure, AWS_PROFILE), {LOCAL_HINT}."
    if isinstance(seen, aws_errors.EndpointConnectionError):
        return f"Cannot reach {seen.kwargs.get('endpoint_url')}: check AWS_ENDPOINT_URL and the network."
    if isinstance(seen, aws_errors.ClientError):
        code = seen.response.get("Error", {}).get("Code", "Unknown")
        said = seen.response.get("Error", {}).get("Message", "")
        return f"AWS refused {seen.operation_name} ({code}: {said}); {_hint(code)}."
    if isinstance(seen, aws_errors.BotoCoreError):
        return f"The AWS call failed: {' '.join(str(seen).split())}"
    return None


def _hint(code: str) -> str:
    if code in ("ResourceNotFoundException", "ParameterNotFound", "ValidationError"):
        return "check the GATEHOUSE_* names and the region, or pass --stack NAME"
    if code.startswith(("AccessDenied", "UnrecognizedClient", "InvalidClientToken", "ExpiredToken")):
        return "check the AWS credentials and what they may do"
    return "see the AWS message"


def main(
    argv: list[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
    clock: Clock = time.time,
) -> int:
    args = _parser().parse_args(argv)
    env = os.environ if env is None else env
    stdin = sys.stdin if stdin is None else stdin
    store_log = logging.getLogger("gatehouse.store")
    if not store_log.handlers:
        store_log.addHandler(logging.NullHandler())  # its failures are reported below, once
    try:
        chosen = target.choose(env, stack_name=args.stack)
        os.environ.update(chosen.aws_environment)  # what boto3 reads: the local stack's endpoint
        ctx = Context(args, env, clock, chosen, stdin)
        # Where it acts, before it acts (on stderr: --json output stays parseable).
        said = target.describe(
            chosen, env, stack_name=args.stack, users_table=ctx.settings.users_table, account=_account
        )
        print(said, file=sys.stderr, flush=True)
        command = args.command
        if command == "list-users":
            list_users(ctx)
        elif command == "create-user":
            create_user(ctx, stdin, env)
        elif command == "set-roles":
            set_roles(ctx)
        elif command in ("disable-user", "enable-user"):
            set_disabled(ctx, command == "disable-user")
        elif command == "unlock":
            unlock_user(ctx)
        elif command == "events":
            list_events(ctx)
        elif command == "delete-user":
            delete_user(ctx)
        elif command == "create-signing-key":
            create_signing_key(ctx)
        elif command == "rotate-signing-key":
            rotate_signing_key(ctx)
        elif command == "retire-key":
            retire_key(ctx)
        elif command == "create-tables":
            create_tables(ctx)
        elif command == "claim-skeletons":
            claim_skeletons(ctx)
        else:
            list_keys(ctx)
    except KNOWN_ERRORS as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except GatehouseError as error:
        # The operator may see what an API client may not: ConfigError details, and
        # what AWS answered where the API would only say that the store failed.
        cause = aws_failure(error) if isinstance(error, StoreError) else None
        print(f"error: {cause or error.message}", file=sys.stderr)
        return 1
    except Exception as error:
        message = aws_failure(error)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0
