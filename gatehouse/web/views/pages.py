"""Documents rather than API calls: the dev demo page and its assets, the OpenAPI description.

The demo page answers 404 unless it is turned on (``GATEHOUSE_DEMO_PAGE``, the
dev stage).  Its modules are imported inside the views: they keep pathlib and
the assets off every cold start.
"""

from __future__ import annotations

from chalice.app import Response

from gatehouse.web.views.common import Gate


def demo_page(gate: Gate) -> Response:
    from gatehouse.web import demo

    return demo.asset(gate.demo_page_on(), demo.INDEX)


def demo_asset(gate: Gate, name: str) -> Response:
    from gatehouse.web import demo

    return demo.asset(gate.demo_page_on(), name)


def openapi_description(gate: Gate) -> Response:
    from gatehouse.web import openapi

    body = openapi.description_text(gate.route_paths())
    return Response(body=body, status_code=200, headers=dict(openapi.HEADERS))
