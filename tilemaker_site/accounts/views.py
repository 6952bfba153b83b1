"""Login with GitHub, logout, and ``/auth/me`` for the viewer.

Starting a login and logging out change who the browser is, so both happen
only on a CSRF-protected POST: otherwise any page could log a visitor out,
or into an attacker's account, with an image tag. A plain GET on either URL
shows a one-button confirmation page instead, so the viewer may simply link
to them. The OAuth callback is a GET from GitHub and is protected by the
``state`` parameter that social-auth checks against the session.
"""

import logging

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpResponseRedirect, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from social_core.exceptions import AuthProviderError, SocialAuthBaseException
from social_django import views as social_views

from maps.grants import user_grants

logger = logging.getLogger("tilemaker.auth")

LOGIN_BACKEND = "github"


def _detail(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def _method_not_allowed(request, allowed: tuple[str, ...]) -> JsonResponse:
    response = _detail(
        405, f"Method {request.method} not allowed here; use {' or '.join(allowed)}."
    )
    response["Allow"] = ", ".join(allowed)
    return response


def _github_disabled(backend: str) -> JsonResponse | None:
    if backend != LOGIN_BACKEND:
        return _detail(404, f"Unknown login method {backend!r}; the only one is 'github'.")
    if settings.AUTH_TYPE != "github":
        return _detail(404, "GitHub login is not enabled on this server.")
    return None


def safe_next(request, default: str = "/") -> str:
    """The ``next`` parameter when it stays on this site, else ``default``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def login_url() -> str | None:
    if settings.AUTH_TYPE != "github":
        return None
    return reverse("social:begin", args=[LOGIN_BACKEND])


def me_payload(request) -> dict:
    user = request.user
    authenticated = bool(user.is_authenticated)
    return {
        "authenticated": authenticated,
        "username": user.get_username() if authenticated else None,
        "grants": sorted(user_grants(user)),
        "auth_type": settings.AUTH_TYPE,
        "login_url": login_url(),
        "logout_url": reverse("social:logout"),
        "csrf_token": get_token(request),
    }


def csrf_failure(request, reason: str = ""):
    """``CSRF_FAILURE_VIEW``: say in JSON why a form or script POST was refused."""
    return _detail(403, f"CSRF check failed: {reason} Reload the page and try again.")


@never_cache
def me(request):
    """Who the caller is and which grants they hold, for the viewer's login control."""
    if request.method not in ("GET", "HEAD"):
        return _method_not_allowed(request, ("GET",))
    return JsonResponse(me_payload(request))


def _confirm_page(request, *, title: str, message: str, button: str, action: str):
    return render(
        request,
        "tilemaker_site/auth_confirm.html",
        {
            "title": title,
            "message": message,
            "button": button,
            "action": action,
            "next": safe_next(request),
        },
    )


def _social_error(error: SocialAuthBaseException) -> JsonResponse:
    # str(error) is social-core's public reason; the detail may name internals.
    logger.info("GitHub login failed: %s (%s)", error.code, error.detail)
    if isinstance(error, AuthProviderError):
        return _detail(502, f"GitHub could not be reached or refused the request: {error}")
    return _detail(400, f"Login failed: {error}")


@never_cache
def begin(request, backend: str):
    """GET: a confirmation page; POST (with CSRF token and optional ``next``): off to GitHub."""
    refused = _github_disabled(backend)
    if refused:
        return refused
    if request.method == "GET":
        return _confirm_page(
            request,
            title="Log in",
            message="Log in to TileMaker with your GitHub account.",
            button="Log in with GitHub",
            action=request.path,
        )
    if request.method != "POST":
        return _method_not_allowed(request, ("GET", "POST"))
    try:
        return social_views.auth(request, backend)
    except SocialAuthBaseException as error:
        return _social_error(error)


@never_cache
def complete(request, backend: str):
    """GitHub's redirect back with ``code`` and ``state``."""
    refused = _github_disabled(backend)
    if refused:
        return refused
    if request.method != "GET":
        return _method_not_allowed(request, ("GET",))
    try:
        return social_views.complete(request, backend)
    except SocialAuthBaseException as error:
        return _social_error(error)


@never_cache
def logout_view(request):
    """GET: a confirmation page; POST (with CSRF token): end the session."""
    if request.method == "GET":
        if not request.user.is_authenticated:
            return HttpResponseRedirect(safe_next(request))
        return _confirm_page(
            request,
            title="Log out",
            message=f"You are logged in as {request.user.get_username()}.",
            button="Log out",
            action=request.path,
        )
    if request.method != "POST":
        return _method_not_allowed(request, ("GET", "POST"))
    # flush() deletes the session row too, so a copied cookie is dead as well.
    logout(request)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse(me_payload(request))
    return HttpResponseRedirect(safe_next(request), status=303)
