"""The authorizer Lambda's entry point.

Chalice names a Blueprint's handlers after the Blueprint's module, so the
deployed authorizer function runs ``gatehouse.handlers.gatehouse_auth``.
It imports the application (a Chalice app is always ``app.py``), which builds
its :class:`~gatehouse.Gatehouse` and with it the route table the
policy is made from, then hands the event to that component's authorizer.
"""

from __future__ import annotations

import importlib
from typing import Any


def gatehouse_auth(event: dict[str, Any], context: Any) -> dict[str, Any]:
    application = importlib.import_module("app").app
    from gatehouse.component import component_of

    answer: dict[str, Any] = component_of(application).authorizer(event, context)
    return answer
