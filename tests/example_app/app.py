"""A second, tiny app built only from Gatehouse's public seam: orders, a report and payouts for admins.

It exists so that the seam cannot silently depend on the notes example:
tests/gatehouse/test_component_seam.py drives it through the real authorizer.
"""

from __future__ import annotations

from typing import Any

from chalice import Chalice

from gatehouse import Gatehouse, Identity

app = Chalice(app_name="orders")
gate = Gatehouse(app, allow_signup=False, admin_routes=False)

ORDERS = {"alice": ["tea", "scones"]}
# Declared, and never created by the tests: a view that reaches it meets a missing table.
archive = gate.table("archive", partition_key="owner")


@gate.route("/orders", methods=["GET"])
def list_orders(identity: Identity) -> dict[str, Any]:
    return {"owner": identity.username, "orders": ORDERS.get(identity.username, [])}


@gate.route("/reports/{day}", methods=["GET"], role="admin")
def report(identity: Identity, day: str) -> dict[str, Any]:
    return {"day": day, "prepared_for": identity.username, "orders": sum(map(len, ORDERS.values()))}


@gate.route("/payouts", methods=["POST"], role="admin", mfa=True)
def payout(identity: Identity) -> dict[str, Any]:
    return {"paid_by": identity.username, "aal": identity.aal, "amr": list(identity.amr)}


@app.route("/plain", methods=["GET"], authorizer=gate.authorizer)
def plain() -> dict[str, Any]:
    return {"user": gate.identity().username, "session": gate.identity().session_id}


@gate.route("/archive", methods=["GET"])
def archived(identity: Identity) -> dict[str, Any]:
    return {
        "items": archive.table().query(
            KeyConditionExpression="#o = :o",
            ExpressionAttributeNames={"#o": "owner"},
            ExpressionAttributeValues={":o": identity.username},
        )["Items"]
    }
