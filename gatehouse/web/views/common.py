"""What every view of Gatehouse's own needs: the app's gate, JSON answers without caching, pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import urlencode

from chalice.app import Request, Response

from gatehouse.errors import InvalidRequest
from gatehouse.services import Services
from gatehouse.settings import Settings
from gatehouse.web.bodies import JSON
from gatehouse.web.responses import NO_STORE

MAX_PAGE = 100
View = Callable[..., Response]


class Gate(Protocol):
    """What the views and their registration use of the app's :class:`gatehouse.Gatehouse`.

    A protocol, so that the web edge does not import the component that imports it.
    """

    account_deleted_hooks: list[Callable[[str], object]]

    @property
    def settings(self) -> Settings: ...

    def services(self) -> Services: ...

    def request(self) -> Request: ...

    def url_for(self, path: str) -> str: ...

    def signup_open(self) -> bool: ...

    def demo_page_on(self) -> bool: ...

    def route_paths(self) -> frozenset[str]: ...

    def route(
        self,
        path: str,
        methods: Iterable[str] = ...,
        role: str | None = ...,
        *,
        content_types: list[str] | None = ...,
    ) -> Callable[[View], View]: ...

    def public_route(
        self,
        path: str,
        methods: Iterable[str],
        *,
        content_types: list[str] | None = ...,
        oauth: bool = ...,
    ) -> Callable[[View], View]: ...


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        body=body, status_code=status, headers={"Content-Type": JSON, **NO_STORE, **(headers or {})}
    )


def no_content() -> Response:
    return Response(body="", status_code=204, headers=dict(NO_STORE))


def source_of(gate: Gate) -> str | None:
    """The client's address as API Gateway saw it (``sourceIp``), for the mail caps; None without one."""
    identity = gate.request().context.get("identity") or {}
    source = identity.get("sourceIp") if isinstance(identity, dict) else None
    return str(source)[:64] if source else None


def paging(gate: Gate) -> tuple[int, str | None]:
    """The ``limit`` and ``cursor`` query parameters (the cursor is checked by each use case)."""
    params: Mapping[str, str] = gate.request().query_params or {}
    return page_limit(params.get("limit")), params.get("cursor")


def next_link(gate: Gate, path: str, limit: int, following: str | None) -> dict[str, str]:
    """The ``Link: <...>; rel="next"`` header of a page that has a next one (stage-aware)."""
    if following is None:
        return {}
    return {"Link": f'<{gate.url_for(path)}?{urlencode({"limit": limit, "cursor": following})}>; rel="next"'}


def page_limit(raw: str | None) -> int:
    """A ``limit`` query parameter: 1 to :data:`MAX_PAGE`, the maximum when absent."""
    if raw is None:
        return MAX_PAGE
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequest(f"limit must be a whole number from 1 to {MAX_PAGE}.")
    return int(raw)
