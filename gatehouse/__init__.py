"""Gatehouse: stateless JWT authentication in front of a Chalice app.

The public seam is small::

    from gatehouse import Gatehouse

    gate = Gatehouse(app)

    @gate.route("/orders", methods=["GET"])
    def list_orders(identity): ...

The names are loaded on first use, so that the authorizer function, which
imports only the verify layer below this package, never pays for the component
(Chalice, the routes, login, mail).  Everything else in this package is private
to it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gatehouse.authorizer.identity import Identity
    from gatehouse.component import Gatehouse

__version__ = "0.1.0"
__all__ = ["Gatehouse", "Identity", "__version__"]

_LAZY = {
    "Gatehouse": "gatehouse.component",
    "Identity": "gatehouse.authorizer.identity",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gatehouse' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
