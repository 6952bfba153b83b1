"""Site-wide middleware: one structured log line per request, and the Content-Security-Policy.

The log line says method, path, status, duration and user, and for a
request authenticated by an API token the token's public name
(``tmk_<prefix>``, never its secret). The query
string is logged because it says what was drawn (``cmap``,
``vmin``...), but OAuth callbacks carry one-time ``code`` and ``state``
values and other clients may put tokens or passwords there: those
parameters are dropped before the line is written, never masked after.
"""

import json
import logging
import time
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urlsplit

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.utils.functional import LazyObject
from social_core.backends.github import GithubOAuth2

logger = logging.getLogger("tilemaker.requests")

_SECRET_NAMES = frozenset({"code", "state"})
_SECRET_FRAGMENTS = ("token", "secret", "passw", "key", "auth", "session", "sig")


def is_secret_parameter(name: str) -> bool:
    lowered = name.lower()
    return lowered in _SECRET_NAMES or any(fragment in lowered for fragment in _SECRET_FRAGMENTS)


def loggable_query(query_string: str) -> str:
    """The query string without any parameter that may carry a credential."""
    kept = [
        (name, value)
        for name, value in parse_qsl(query_string, keep_blank_values=True)
        if not is_secret_parameter(name)
    ]
    return urlencode(kept)


def request_line(
    *, method: str, path: str, query: str, status: int, duration_ms: float, user_id, token=None
):
    """The JSON log line for one request (``query`` already stripped of secrets).

    ``token`` is the public name of the API token that authenticated the
    request; the key is left out for session and anonymous requests.
    """
    line = {
        "event": "request",
        "method": method,
        "path": path,
        "query": query,
        "status": status,
        "duration_ms": round(duration_ms, 1),
        "user": user_id,
    }
    if token is not None:
        line["token"] = token
    return json.dumps(line, separators=(",", ":"))


def _user_id_if_loaded(request):
    # Resolving request.user may hit the session and user tables; a request
    # whose view never looked at the user is logged as anonymous rather than
    # paying for (or, in async code, forbidding) that query after the fact.
    # DRF's authentication replaces the session's lazy user with the one it
    # found: a token's user, whom the session never knew.
    user = request.__dict__.get("user")
    if user is None or isinstance(user, LazyObject):
        user = request.__dict__.get("_cached_user") or request.__dict__.get("_acached_user")
    if user is None or not user.is_authenticated:
        return None
    return user.pk


class HybridMiddleware:
    """Base of the site's middleware: one code path for sync and async requests.

    Django adapts a sync-only middleware under ASGI by moving the request,
    and every middleware outside it, onto a thread of its own (and
    ``MiddlewareMixin`` runs its hooks through one too): a warm tile would
    pay two thread hops per layer. Subclasses give ``before`` (a response to
    answer with at once, or None) and ``after`` (the response to send); both
    must be cheap and never block.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        early = self.before(request)
        return early if early is not None else self.after(request, self.get_response(request))

    async def _acall(self, request):
        early = self.before(request)
        if early is not None:
            return early
        return self.after(request, await self.get_response(request))

    def before(self, request):
        return None

    def after(self, request, response):
        return response


class RequestLogMiddleware(HybridMiddleware):
    """Outermost middleware, so the duration covers every other layer."""

    def before(self, request):
        request.tilemaker_started = time.perf_counter()

    def after(self, request, response):
        line = request_line(
            method=request.method,
            path=request.path,
            query=loggable_query(request.META.get("QUERY_STRING", "")),
            status=response.status_code,
            duration_ms=(time.perf_counter() - request.tilemaker_started) * 1000.0,
            user_id=_user_id_if_loaded(request),
            # Set by the Bearer authentication (tilemaker_site.accounts.tokens).
            token=getattr(request, "tilemaker_token", None),
        )
        level = logging.ERROR if response.status_code >= 500 else logging.INFO
        logger.log(level, line)
        return response


@lru_cache
def content_security_policy(*, form_origins: tuple[str, ...] = ()) -> str:
    """The policy for every response: scripts and styles only from files on this site.

    No inline script or style, no eval: text from a map, catalogue or FITS
    header that ever reached the page as HTML still could not run.
    ``img-src`` allows ``data:`` (Swagger UI's and the admin's icons) and
    ``blob:`` (OpenLayers canvases and cut-out downloads); ``worker-src
    blob:`` leaves room for OpenLayers' WebGL workers. ``form_origins`` are
    the other origins a form may lead to.
    """
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "worker-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", *form_origins],
    }
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def login_form_origins() -> tuple[str, ...]:
    """GitHub's origin when GitHub login is on: the login form's POST is
    redirected there, and Chromium applies form-action to that redirect too."""
    if settings.AUTH_TYPE != "github":
        return ()
    parts = urlsplit(GithubOAuth2.AUTHORIZATION_URL)
    return (f"{parts.scheme}://{parts.netloc}",)


class ContentSecurityPolicyMiddleware(HybridMiddleware):
    """Adds the policy to every response (pages, errors, static files, API answers).

    Next to the outermost middleware, so error pages and static files made
    by inner layers carry it too. The API is on this origin whatever
    ``TILEMAKER_API_ENDPOINT`` says (it is a path prefix), so
    ``connect-src 'self'`` covers the viewer's requests.
    """

    def after(self, request, response):
        response.headers.setdefault(
            "Content-Security-Policy", content_security_policy(form_origins=login_form_origins())
        )
        return response
