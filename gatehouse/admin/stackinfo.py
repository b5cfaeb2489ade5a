"""Settings from a deployed stack's outputs, so the CLI needs only ``--stack NAME``.

The merge template lets CloudFormation name the tables; its outputs say
which names it chose (gatehouse/release/resources.json, ``Outputs``).
"""

from __future__ import annotations

from typing import Any

# Stack output -> the setting it fills.
OUTPUT_SETTINGS = {
    "UsersTableName": "GATEHOUSE_USERS_TABLE",
    "SessionsTableName": "GATEHOUSE_SESSIONS_TABLE",
    "AttemptsTableName": "GATEHOUSE_ATTEMPTS_TABLE",
    "SigningKeyParameterName": "GATEHOUSE_SIGNING_KEY_PARAM",
    "MfaKeyParameterName": "GATEHOUSE_MFA_KEY_PARAM",
}
# Outputs a stack deployed by an older version may lack (the setting's default applies then).
OPTIONAL_OUTPUT_SETTINGS = {"EventsTableName": "GATEHOUSE_EVENTS_TABLE"}


class StackError(Exception):
    """The deployed stack cannot be described, or lacks what the CLI needs from it.

    Not a :class:`~gatehouse.errors.GatehouseError`: a refusal of the admin CLI, printed as its
    one line; it never reaches the HTTP edge.
    """


def settings_from_stack(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        [stack] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as exc:
        # AWS's own answer (no such stack, access denied); a missing region or
        # credentials propagates, for the CLI to say what to set.
        said = getattr(exc, "response", {}).get("Error", {}).get("Message")
        if said is None:
            raise
        raise StackError(f"Stack {stack_name!r} could not be read: {str(said).rstrip('.')}.") from None
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    missing = sorted(set(OUTPUT_SETTINGS) - set(outputs))
    if missing:
        raise StackError(f"Stack {stack_name!r} has no output {', '.join(missing)}: is it a Gatehouse stack?")
    found = {setting: outputs[output] for output, setting in OUTPUT_SETTINGS.items()}
    found.update({s: outputs[o] for o, s in OPTIONAL_OUTPUT_SETTINGS.items() if o in outputs})
    return found
