"""The example app's authorizer as ``chalice local`` and the tests call it: the installed runtime's keys,
clock and session check, the route table the deployed function gets (see gatehouse.component)."""

from __future__ import annotations

from typing import Any

import app as gatehouse_app
from gatehouse.component import component_of


def gatehouse_auth(event: dict[str, Any]) -> dict[str, Any]:
    """A TOKEN event through the app's registered authorizer: its policy, or ``Unauthorized``."""
    answer: dict[str, Any] = component_of(gatehouse_app.app).authorizer(event, None)
    return answer
