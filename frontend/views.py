"""The viewer page: one template whose scripts talk only to the public API."""

from django.conf import settings
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

LOGIN_BACKEND = "github"


def _reverse_or_none(name: str, *args) -> str | None:
    # Login and logout URLs exist only once the accounts app is mounted.
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def auth_info(request) -> dict:
    """What the login control shows: ``{type, login_url, logout_url, username}``."""
    github = settings.AUTH_TYPE == "github"
    user = request.user
    return {
        "type": settings.AUTH_TYPE,
        "login_url": _reverse_or_none("social:begin", LOGIN_BACKEND) if github else None,
        "logout_url": _reverse_or_none("social:logout") if github else None,
        "username": user.get_username() if user.is_authenticated else None,
    }


def api_tokens_info(request) -> dict | None:
    """Where a logged-in user manages their API tokens, and the expiry bounds; else None."""
    url = _reverse_or_none("social:tokens")
    if url is None or not request.user.is_authenticated:
        return None
    return {
        "url": url,
        "default_days": settings.API_TOKEN_DEFAULT_DAYS,
        "max_days": settings.API_TOKEN_MAX_DAYS,
    }


def viewer_config(request) -> dict:
    """Everything the scripts need to find the API, injected as JSON into the page."""
    return {
        "api_base": settings.API_ENDPOINT.rstrip("/"),
        "auth": auth_info(request),
        "api_tokens": api_tokens_info(request),
    }


# GET and HEAD only: TRACE and the rest answered 200 with the page.
@require_safe
@ensure_csrf_cookie
def index(request):
    return render(request, "frontend/index.html", {"viewer_config": viewer_config(request)})
