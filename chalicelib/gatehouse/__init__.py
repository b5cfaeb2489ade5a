"""Gatehouse: stateless JWT authentication in front of a Chalice app.

The public seam is small::

    from chalicelib.gatehouse import Gatehouse

    gate = Gatehouse(app)

    @gate.route("/orders", methods=["GET"])
    def list_orders(identity): ...

Everything else in this package is private to it.
"""

from chalicelib.gatehouse.component import Gatehouse
from chalicelib.gatehouse.verify.identity import Identity

__all__ = ["Gatehouse", "Identity"]
