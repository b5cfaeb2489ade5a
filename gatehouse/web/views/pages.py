"""Documents rather than API calls: the dev demo page and its assets, the OpenAPI description.

The demo page answers 404 unless it is turned on (``GATEHOUSE_DEMO_PAGE``, the
dev stage).  Its modules are imported inside the views: they keep pathlib and
the assets off every cold start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Response

if TYPE_CHECKING:
    from gatehouse.component import Gatehouse


def demo_page(gate: Gatehouse) -> Response:
    from gatehouse.web import demo

    return demo.asset(gate.demo_page_on(), demo.INDEX)


def demo_asset(gate: Gatehouse, name: str) -> Response:
    from gatehouse.web import demo

    return demo.asset(gate.demo_page_on(), name)


def openapi_description(gate: Gatehouse) -> Response:
    from gatehouse.web import openapi

    return Response(body=openapi.description_text(), status_code=200, headers=dict(openapi.HEADERS))
