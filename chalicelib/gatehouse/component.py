"""``Gatehouse(app)``: login, tokens and an authorizer in front of a Chalice app's routes.

Constructing it adds Gatehouse's routes (``/auth/*``, ``/.well-known/jwks.json``,
``/me``, ``/admin/users...``), its Lambda authorizer, CORS, the error contract
and one request-log line per request to ``app``.  The app's own routes are
protected with :meth:`Gatehouse.route` or Chalice's ``authorizer=gate.authorizer``.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import AuthRequest, AuthResponse, Blueprint, Chalice, ChaliceAuthorizer, Request, Response

from chalicelib.gatehouse import handlers, runtime
from chalicelib.gatehouse.errors import Forbidden
from chalicelib.gatehouse.settings import authorizer_ttl, cors_origin, load_settings
from chalicelib.gatehouse.storage.failures import store_call
from chalicelib.gatehouse.verify.authorizer import authorize
from chalicelib.gatehouse.verify.identity import Identity
from chalicelib.gatehouse.verify.policy import ProtectedRoute
from chalicelib.gatehouse.web import cors, responses, routes
from chalicelib.gatehouse.web.bodies import JSON, NO_BODY, read_body
from chalicelib.gatehouse.web.request_log import request_log

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

AUTHORIZER_NAME = "gatehouse_auth"
# Methods whose requests carry a body: their routes take JSON, the others any type.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
# Path prefixes of Gatehouse's own routes: they run in the auth function when deployed.
OWN_PATHS = ("/auth/", "/.well-known/", "/admin/", "/me", "/openapi.json", "/client/")

View = TypeVar("View", bound=Callable[..., Response])
Hook = TypeVar("Hook", bound=Callable[[str], object])

_installed: list[Gatehouse] = []


def installed() -> Gatehouse:
    """The component the app built (the authorizer Lambda's entry point needs it)."""
    if not _installed:
        raise RuntimeError("app.py built no Gatehouse(app)")
    return _installed[-1]


class Gatehouse:
    """Gatehouse as a component of one Chalice app.

    Keyword options override the ``GATEHOUSE_*`` settings for this app:
    ``allow_signup`` (``POST /auth/register`` open or not), ``admin_routes``
    (``/admin/users...`` registered or not), ``demo_page`` (``GET /``).
    """

    def __init__(
        self,
        app: Chalice,
        *,
        allow_signup: bool | None = None,
        admin_routes: bool = True,
        demo_page: bool | None = None,
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self.app = app
        self._allow_signup = allow_signup
        self._demo_page = demo_page
        self._roles: dict[tuple[str, str], str | None] = {}
        self._protected: tuple[ProtectedRoute, ...] | None = None
        self._own_routes: set[str] = set()
        self.account_deleted_hooks: list[Callable[[str], object]] = []

        # CORS first: middleware registered first runs outermost, and CORS must
        # see the final response, error responses included.
        cors.install(app, cors_origin(env))
        app.register_middleware(request_log, "http")
        app.register_middleware(responses.rerender_chalice_errors(lambda: app.routes), "http")

        # Registered through a Blueprint of the handlers module, so that the
        # deployed authorizer function's handler is a module-level name.
        blueprint = Blueprint(handlers.__name__)

        def gatehouse_auth(auth_request: AuthRequest) -> AuthResponse:
            return authorize(
                auth_request.token, auth_request.method_arn, runtime.current, self.protected_routes
            )

        self.authorizer: ChaliceAuthorizer = blueprint.authorizer(
            name=AUTHORIZER_NAME, ttl_seconds=authorizer_ttl(env)
        )(gatehouse_auth)
        app.register_blueprint(blueprint)
        routes.register(self, admin_routes=admin_routes)
        _installed.append(self)

        # A signing key that cannot be loaded fails the auth function's cold
        # start with a message naming the setting, instead of a 500 on every
        # login.  Only inside Lambda: `chalice package` imports the app too.
        if "AWS_LAMBDA_FUNCTION_NAME" in env and load_settings(env).preload_signing_key:
            runtime.current().signing_key  # noqa: B018

    # -- protecting the app's routes ------------------------------------------------------

    def route(
        self,
        path: str,
        methods: Iterable[str] = ("GET",),
        role: str | None = None,
        *,
        content_types: list[str] | None = None,
    ) -> Callable[[View], View]:
        """A route behind the authorizer; the view gets the caller's :class:`Identity` first.

        With ``role``, only tokens carrying that role get a policy for the
        route, and the view checks it again, so a mis-cached or hand-written
        policy cannot open it.
        """
        methods = [m.upper() for m in methods]

        def decorate(view: View) -> View:
            @functools.wraps(view)
            def guarded(**params: str) -> Response:
                identity = self.identity()
                if role is not None and role not in identity.roles:
                    raise Forbidden()
                with store_call(f"view {view.__name__}"):
                    return view(identity, **params)

            for method in methods:
                self._roles[(path, method)] = role
            kinds = content_types or ([JSON] if BODY_METHODS & set(methods) else NO_BODY)
            self.app.route(path, methods=methods, authorizer=self.authorizer, content_types=kinds)(
                responses.answering_errors(guarded)
            )
            return view

        return decorate

    def public_route(
        self,
        path: str,
        methods: Iterable[str],
        *,
        content_types: list[str] | None = None,
        oauth: bool = False,
    ) -> Callable[[View], View]:
        """One of Gatehouse's own routes that needs no token."""
        methods = list(methods)

        def decorate(view: View) -> View:
            kinds = content_types or ([JSON] if BODY_METHODS & set(methods) else NO_BODY)
            self.app.route(path, methods=methods, content_types=kinds)(
                responses.answering_errors(view, oauth=oauth)
            )
            return view

        return decorate

    def on_account_deleted(self, hook: Hook) -> Hook:
        """Call ``hook(username)`` after an account is deleted, to remove the app's own data of it.

        Usable as a decorator.  The hook runs after the account's identity
        rows and sessions are gone, at least once: while it raises it is
        called again (3 calls in all), so it must be idempotent; a hook that
        still fails is logged (``account_deleted_hook``) and the deletion
        still succeeds.
        """
        self.account_deleted_hooks.append(hook)
        return hook

    def map_error(self, error: type[Exception], status: int, code: str) -> None:
        """Answer ``status`` with ``{"error": code, "message": str(error)}`` when a view raises ``error``."""
        responses.register_app_error(error, status, code)

    # -- what a view may ask -----------------------------------------------------------------

    def request(self) -> Request:
        request = self.app.current_request
        if request is None:
            raise RuntimeError("no request is being handled")
        return request

    def json_body(self) -> dict[str, Any]:
        """The request's body as one strict JSON object (else a 4xx the edge renders)."""
        return read_body(self.request())

    def now(self) -> float:
        """The time, from the clock Gatehouse runs on (tests control it)."""
        return runtime.current().clock()

    def table(self, name: str) -> Table:
        """A DynamoDB table, through Gatehouse's one lazily created boto3 session."""
        return runtime.current().table(name)

    def url_for(self, path: str) -> str:
        """``path`` as the client must request it: behind API Gateway, with the stage prefix."""
        event = self.request().to_original_event()
        context_path = str(event.get("requestContext", {}).get("path") or "")
        request_path = str(event.get("path") or "")
        prefix = ""
        if request_path and context_path.endswith(request_path):
            prefix = context_path[: len(context_path) - len(request_path)]
        return prefix.rstrip("/") + path

    def identity(self) -> Identity:
        """The caller of the current request, as the authorizer vouched for it."""
        try:
            return Identity.from_context(self.request().context["authorizer"])
        except (KeyError, TypeError):
            # Reached only if a route was deployed without the authorizer.
            raise Forbidden() from None

    def signup_open(self) -> bool:
        allowed = self._allow_signup
        return runtime.current().settings.allow_signup if allowed is None else allowed

    def demo_page_on(self) -> bool:
        on = self._demo_page
        return runtime.current().settings.demo_page if on is None else on

    # -- what the authorizer and the deployment need ------------------------------------------

    def protected_routes(self) -> tuple[ProtectedRoute, ...]:
        """Every route behind this authorizer, with the role it needs (built once)."""
        if self._protected is None:
            table = []
            for path, by_method in self.app.routes.items():
                for method, entry in by_method.items():
                    if _same(entry.authorizer, self.authorizer):
                        table.append(ProtectedRoute(path, (method,), self._roles.get((path, method))))
            self._protected = tuple(table)
        return self._protected

    def owns(self, path: str) -> bool:
        """Whether ``path`` is one of Gatehouse's routes (deployed: the auth function's)."""
        return path == "/" or path.startswith(OWN_PATHS)


def _same(a: object, b: object) -> bool:
    return a is b
