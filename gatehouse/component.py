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
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from chalice.app import AuthRequest, Blueprint, Chalice, ChaliceAuthorizer, Request, Response

from gatehouse import app_tables, logs, mail
from gatehouse.app_tables import DEFAULT_ACTIONS, AppTable
from gatehouse.authorizer import handler
from gatehouse.authorizer.decision import Verifier, authorize
from gatehouse.authorizer.identity import Identity
from gatehouse.authorizer.policy import COMPONENT_ATTRIBUTE, ProtectedRoute, RouteTable
from gatehouse.errors import ConfigError, Forbidden, NotFound
from gatehouse.services import Services
from gatehouse.settings import Settings, authorizer_ttl, load_settings
from gatehouse.storage.failures import store_call
from gatehouse.web import cors, responses, views
from gatehouse.web.bodies import JSON, NO_BODY, check_text, read_body
from gatehouse.web.request_log import request_log

if TYPE_CHECKING:
    from chalice.app import RouteEntry

AUTHORIZER_NAME = handler.ENTRY_POINT
# Methods whose requests carry a body: their routes take JSON, the others any type.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

View = TypeVar("View", bound=Callable[..., Response])
Hook = TypeVar("Hook", bound=Callable[[str], object])

# The app carries its own component (policy.COMPONENT_ATTRIBUTE), so that no
# registry outlives or mixes apps in one process.


def component_of(app: Chalice) -> Gatehouse:
    """The Gatehouse built on ``app`` (the authorizer Lambda's entry point needs it)."""
    component = getattr(app, COMPONENT_ATTRIBUTE, None)
    if not isinstance(component, Gatehouse):
        raise RuntimeError("this Chalice app has no Gatehouse(app)")
    return component


def declared_tables(app: Chalice) -> tuple[AppTable, ...]:
    """The tables ``app`` declared with ``gate.table(...)`` (none for an app without Gatehouse)."""
    component = getattr(app, COMPONENT_ATTRIBUTE, None)
    return component.tables if isinstance(component, Gatehouse) else ()


class Gatehouse:
    """Gatehouse as a component of one Chalice app.

    Keyword options override the ``GATEHOUSE_*`` settings for this app:
    ``allow_signup`` (``POST /auth/register`` open or not), ``admin_routes``
    (``/admin/users...`` registered or not), ``demo_page`` (``GET /``).
    ``env`` is where the settings are read from (on first use, once).

    Everything it holds is its own: settings, clients and keys (its
    :class:`~gatehouse.services.Services`), error mappings and hooks, so two
    apps in one process never see each other's.
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
        self._env = env
        self._services: Services | None = None
        self._services_lock = threading.Lock()
        self._mail_templates: tuple[str, ...] = ()
        self._app_errors = responses.AppErrors()
        self._allow_signup = allow_signup
        self._demo_page = demo_page
        self._roles: dict[tuple[str, str], str | None] = {}
        self._route_table: RouteTable | None = None
        self._own_paths: set[str] = set()
        self._registering_own = False
        self.account_deleted_hooks: list[Callable[[str], object]] = []
        self._tables: dict[str, AppTable] = {}

        # CORS first: middleware registered first runs outermost, and CORS must
        # see the final response, error responses included.
        cors.install(app, self.allowed_origins)
        app.register_middleware(request_log, "http")
        app.register_middleware(responses.rerender_chalice_errors(lambda: app.routes), "http")

        # Registered through a Blueprint named after the authorizer's lean handler module,
        # so that Chalice's generated handler string for the deployed authorizer
        # function is that module's entry point (handler.HANDLER), which never
        # imports this app.  Locally, Chalice calls this function instead.
        blueprint = Blueprint(handler.__name__)

        def gatehouse_auth(auth_request: AuthRequest) -> dict[str, Any]:
            return authorize(auth_request.token, auth_request.method_arn, self._local_verifier)

        self.authorizer: ChaliceAuthorizer = blueprint.authorizer(
            name=AUTHORIZER_NAME, ttl_seconds=authorizer_ttl(env)
        )(gatehouse_auth)
        app.register_blueprint(blueprint)
        self._registering_own = True
        views.register(self, admin_routes=admin_routes)
        self._registering_own = False
        setattr(app, COMPONENT_ATTRIBUTE, self)

        # Inside Lambda the component is the function's entry: its event lines go to
        # stdout, one JSON object a line.  Elsewhere the application (or the local
        # stack) decides; importing Gatehouse configures no logging.
        if "AWS_LAMBDA_FUNCTION_NAME" in env:
            logs.configure()

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
            self.services().signing_key  # noqa: B018

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
                with app_tables.reaching() as reached, store_call(f"view {view.__name__}", tables=reached):
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
                responses.answering_errors(guarded, self._app_errors)
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
                responses.answering_errors(checked, self._app_errors, oauth=oauth)
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
        path = mail.template_directory(directory)
        with self._services_lock:
            self._mail_templates = (path, *(d for d in self._mail_templates if d != path))
            if self._services is not None:
                self._services.mail_templates = self._mail_templates

    def map_error(self, error: type[Exception], status: int, code: str) -> None:
        """Answer ``status`` with ``{"error": code, "message": str(error)}`` when a view raises ``error``.

        The mapping belongs to this app only.
        """
        self._app_errors.add(error, status, code)

    # -- what the component runs on ----------------------------------------------------------

    def services(self) -> Services:
        """Settings, clock, keys and repositories: built from ``env`` on first use, then kept."""
        with self._services_lock:
            if self._services is None:
                self._services = Services(load_settings(self._env))
                self._services.mail_templates = self._mail_templates
            return self._services

    def use_services(self, services: Services | None) -> None:
        """Run on ``services`` (tests: a fake clock, moto tables); None: from ``env`` again."""
        with self._services_lock:
            self._services = services
            if services is not None:
                services.mail_templates = self._mail_templates

    @property
    def settings(self) -> Settings:
        return self.services().settings

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
        return self.services().clock()

    def table(
        self,
        name: str,
        *,
        partition_key: str,
        sort_key: str | None = None,
        actions: Iterable[str] = DEFAULT_ACTIONS,
        account_deleted_actions: Iterable[str] = (),
    ) -> AppTable:
        """Declare one of the app's own DynamoDB tables; views reach it with ``.table()``.

        From this one declaration the local stack and the tests create the table, and
        the merge template creates it (point-in-time recovery, kept when the stack
        goes), tells the functions its name (``<NAME>_TABLE``) and grants the API
        handler ``actions`` on it (default: get, put, update, delete item and Query)
        and the auth function, where :meth:`on_account_deleted` hooks run,
        ``account_deleted_actions`` (default: none).
        """
        declared = app_tables.declare(
            self.app.app_name,
            name,
            partition_key=partition_key,
            sort_key=sort_key,
            actions=actions,
            account_deleted_actions=account_deleted_actions,
            declared=self._tables,
            reach=lambda physical: self.services().table(physical),
        )
        self._tables[name] = declared
        return declared

    @property
    def tables(self) -> tuple[AppTable, ...]:
        """The app's declared tables, in declaration order."""
        return tuple(self._tables.values())

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
        return self.settings.allow_signup if allowed is None else allowed

    def demo_page_on(self) -> bool:
        on = self._demo_page
        return self.settings.demo_page if on is None else on

    def route_paths(self) -> frozenset[str]:
        """Every path the app serves, its own and Gatehouse's (what its OpenAPI description may name)."""
        return frozenset(self.app.routes)

    # -- what the authorizer and the deployment need ------------------------------------------

    def guards(self, entry: RouteEntry) -> bool:
        """Whether a route of the app is behind this component's authorizer."""
        return _same(entry.authorizer, self.authorizer)

    def role_of(self, path: str, method: str) -> str | None:
        """The role a protected route needs (None: any signed-in user)."""
        return self._roles.get((path, method))

    def route_table(self) -> RouteTable:
        """The authorizer's route table, as the deployed function gets it (built on first use).

        The same function that writes it into the merge template computes it,
        and it goes through the same encoding, so ``chalice local`` and the
        tests decide exactly as the deployed function does.
        """
        if self._route_table is None:
            self._route_table = RouteTable.decode(protected_routes(self.app).encode())
        return self._route_table

    def _local_verifier(self) -> Verifier:
        rt = self.services()
        check = rt.session_check if rt.settings.check_sessions else None
        return Verifier(rt.keyset, rt.rules, self.route_table(), rt.clock, check)

    def allowed_origins(self) -> tuple[str, ...]:
        """The CORS allowlist of this app's settings (read per request, not at import).

        Settings that do not load give no CORS header: the view's own answer is
        then a 500 whose log line names the setting.
        """
        try:
            return self.settings.cors_origins
        except ConfigError:
            return ()

    def own_paths(self) -> frozenset[str]:
        """The paths of Gatehouse's own routes: deployed, the auth function serves them."""
        return frozenset(self._own_paths)


def _check_parameters(params: Mapping[str, str], query: Mapping[str, str] | None) -> None:
    """Path and query parameters must be Unicode text, like body fields (a 400, never a 500)."""
    for name, value in params.items():
        check_text(name, value)
    for name, value in (query or {}).items():
        check_text("A query parameter", name)
        check_text(name if name.isascii() and len(name) <= 64 else "A query parameter", value)


def _same(a: object, b: object) -> bool:
    return a is b


def protected_routes(app: Chalice) -> RouteTable:
    """Every route of ``app`` behind Gatehouse's authorizer, with the role it needs.

    The authorizer function's policy is made from this table: the merge
    template gives it to that function, and the component uses the same
    table for ``chalice local`` and the tests.
    """
    try:
        gate = component_of(app)
    except RuntimeError:  # no Gatehouse on this app: nothing is behind its authorizer
        return RouteTable(())
    return RouteTable(
        ProtectedRoute(path, method, gate.role_of(path, method))
        for path, by_method in app.routes.items()
        for method, entry in by_method.items()
        if gate.guards(entry)
    )
