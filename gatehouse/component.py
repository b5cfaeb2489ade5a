"""``Gatehouse(app)``: login, tokens and an authorizer in front of a Chalice app's routes.

Constructing it adds Gatehouse's routes (``/auth/*``, ``/.well-known/jwks.json``,
``/me``, ``/admin/users...``), its Lambda authorizer, CORS, the error contract
and one request-log line per request to ``app``.  The app's own routes are
protected with :meth:`Gatehouse.route` or Chalice's ``authorizer=gate.authorizer``.
"""

from __future__ import annotations

import functools
import importlib
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import AuthRequest, AuthResponse, Blueprint, Chalice, ChaliceAuthorizer, Request, Response

from gatehouse import handlers, mail, runtime
from gatehouse.errors import ConfigError, Forbidden, NotFound
from gatehouse.settings import authorizer_ttl, load_settings
from gatehouse.storage.failures import store_call
from gatehouse.verify.authorizer import authorize
from gatehouse.verify.identity import Identity
from gatehouse.verify.policy import ProtectedRoute
from gatehouse.web import cors, responses, routes
from gatehouse.web.bodies import JSON, NO_BODY, check_text, read_body
from gatehouse.web.request_log import request_log

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

AUTHORIZER_NAME = "gatehouse_auth"
# Methods whose requests carry a body: their routes take JSON, the others any type.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

View = TypeVar("View", bound=Callable[..., Response])
Hook = TypeVar("Hook", bound=Callable[[str], object])

_components: dict[int, Gatehouse] = {}


def component_of(app: Chalice) -> Gatehouse:
    """The Gatehouse built on ``app`` (the authorizer Lambda's entry point needs it)."""
    try:
        return _components[id(app)]
    except KeyError:
        raise RuntimeError("this Chalice app has no Gatehouse(app)") from None


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
        self._own_paths: set[str] = set()
        self._registering_own = False
        self.account_deleted_hooks: list[Callable[[str], object]] = []

        # CORS first: middleware registered first runs outermost, and CORS must
        # see the final response, error responses included.
        cors.install(app, cors_origins)
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
        self._registering_own = True
        routes.register(self, admin_routes=admin_routes)
        self._registering_own = False
        _components[id(app)] = self

        # Local development: the dev stage sets GATEHOUSE_EMBEDDED_AWS, so that plain
        # `chalice local` gets the embedded AWS, tables, dev key, seeded users and
        # gateway parity of `make run`.  Never inside Lambda, which does not ship
        # the development package.
        if env.get("GATEHOUSE_EMBEDDED_AWS") and "AWS_LAMBDA_FUNCTION_NAME" not in env:
            embedded = importlib.import_module("gatehouse.dev.embedded")
            embedded.start_if_wanted(os.environ)

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
                self._refuse_trailing_slash()
                identity = self.identity()
                if role is not None and role not in identity.roles:
                    raise Forbidden()
                _check_parameters(params, self.request().query_params)
                with store_call(f"view {view.__name__}"):
                    answer = view(identity, **params)
                # A view may return a body (as Chalice's views may) or a Response.
                response = answer if isinstance(answer, Response) else Response(body=answer)
                # An answer for one caller must never be kept by a shared cache
                # (or the browser's) for the next: unless the view chose its own.
                if not any(name.lower() == "cache-control" for name in response.headers):
                    response.headers.update(responses.NO_STORE)
                return response

            for method in methods:
                self._roles[(path, method)] = role
            if self._registering_own:
                self._own_paths.add(path)
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
            @functools.wraps(view)
            def checked(**params: str) -> Response:
                self._refuse_trailing_slash()
                _check_parameters(params, None)
                return view(**params)

            if self._registering_own:
                self._own_paths.add(path)
            kinds = content_types or ([JSON] if BODY_METHODS & set(methods) else NO_BODY)
            self.app.route(path, methods=methods, content_types=kinds)(
                responses.answering_errors(checked, oauth=oauth)
            )
            return view

        return decorate

    def on_account_deleted(self, hook: Hook) -> Hook:
        """Call ``hook(account_id)`` after an account is deleted, to remove the app's own data of it.

        Key the app's data by :attr:`Identity.account_id`, never by the username:
        a deleted name can be taken again, by somebody else.

        Usable as a decorator.  The hook runs after the account's identity
        rows and sessions are gone, at least once: while it raises it is
        called again (3 calls in all), so it must be idempotent; a hook that
        still fails is logged (``account_deleted_hook``) and the deletion
        still succeeds.
        """
        self.account_deleted_hooks.append(hook)
        return hook

    def mail_templates(self, directory: str | os.PathLike[str]) -> None:
        """Use the mail templates in ``directory`` instead of the package's English ones.

        A file there replaces the package's file of the same name
        (``notice_new_device.txt`` and ``.html``, ``verify_email.txt``, ...;
        the list and the placeholders each gets are in docs/API.md); the
        others stay.  The first line of a ``.txt`` may be ``Subject: ...``.
        """
        mail.use_templates(directory)

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

    def _refuse_trailing_slash(self) -> None:
        """``/auth/sessions/`` is not ``/auth/sessions``: an empty id names no resource.

        API Gateway (and Chalice locally) drop the slash and route both to the
        same view, so a client that builds ``DELETE /auth/sessions/{id}`` from
        an empty id would otherwise end every session of its user.  The path
        as the client sent it is still in the request context.
        """
        event = self.request().to_original_event()
        path = str(event.get("requestContext", {}).get("path") or "")
        if len(path) > 1 and path.endswith("/"):
            raise NotFound()

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

    def own_paths(self) -> frozenset[str]:
        """The paths of Gatehouse's own routes: deployed, the auth function serves them."""
        return frozenset(self._own_paths)


def cors_origins() -> tuple[str, ...]:
    """The allowlist of the running function's settings (read per request, not at import).

    Settings that do not load give no CORS header: the view's own answer is
    then a 500 whose log line names the setting.
    """
    try:
        return runtime.current().settings.cors_origins
    except ConfigError:
        return ()


def _check_parameters(params: Mapping[str, str], query: Mapping[str, str] | None) -> None:
    """Path and query parameters must be Unicode text, like body fields (a 400, never a 500)."""
    for name, value in params.items():
        check_text(name, value)
    for name, value in (query or {}).items():
        check_text("A query parameter", name)
        check_text(name if name.isascii() and len(name) <= 64 else "A query parameter", value)


def _same(a: object, b: object) -> bool:
    return a is b
