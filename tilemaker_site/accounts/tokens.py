"""``Authorization: Bearer <token>`` for the API and image endpoints.

A token request is its user's request: the views ask ``maps.grants`` with
``request.user`` as for a session, so a token sees exactly what its user
sees, and stops working the moment the user is deactivated. Tokens are
read-only (safe methods only, and the POSTs of views marked
``computes_only``: a query whose body is too long for a URL, such as a
region's statistics, that writes nothing), and reach only DRF views: the
admin and the token management under ``/auth/`` use the session alone.

Every refusal of a token says the same words with the same status, so an
answer never tells whether a prefix, a token or its owner exists. Other
``Authorization`` schemes are left alone (the request stays anonymous), as
DRF's own classes do, so a proxy's Basic authentication keeps working.
"""

import hmac
from datetime import timedelta

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import SAFE_METHODS

from tilemaker_site.accounts.models import TOKEN_KIND, ApiToken, split_token, token_hash

SCHEME = "bearer"
REFUSED = "Invalid, expired or revoked token."
READ_ONLY = "API tokens are read-only: only GET, HEAD and OPTIONS requests accept them."
# ``last_used`` is written at most this often per token: a write per tile
# would turn a map browse of hundreds of tiles into hundreds of writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def bearer_credential(request) -> str | None:
    """The token in a ``Bearer`` Authorization header ("" if empty), else None."""
    scheme, _, credential = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() != SCHEME:
        return None
    return credential.strip()


def _view_of(request):
    return (getattr(request, "parser_context", None) or {}).get("view")


def _token_may_call(method: str, view) -> bool:
    return method in SAFE_METHODS or getattr(view, "computes_only", False)


class BearerTokenAuthentication(BaseAuthentication):
    def authenticate(self, request):
        credential = bearer_credential(request)
        if credential is None:
            return None
        if not _token_may_call(request.method, _view_of(request)):
            # Refused before looking: a write answers the same for any token.
            raise PermissionDenied(READ_ONLY)
        token = self._find(credential)
        if token is None:
            raise AuthenticationFailed(REFUSED)
        now = timezone.now()
        if token.last_used is None or now - token.last_used >= LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used=now)
        # For the request log line: the token's public name, never its secret.
        request._request.tilemaker_token = f"{TOKEN_KIND}_{token.prefix}"
        return token.user, token

    @staticmethod
    def _find(credential: str) -> ApiToken | None:
        parts = split_token(credential)
        digest = token_hash(credential)
        if parts is None:
            return None
        token = ApiToken.objects.usable().select_related("user").filter(prefix=parts[0]).first()
        if token is None or not hmac.compare_digest(token.secret_hash, digest):
            return None
        return token

    def authenticate_header(self, request):
        # Only for a request that sent a token: a request without one keeps
        # DRF's 403 for "log in first" (saving a region, say).
        if bearer_credential(request) is None:
            return None
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The token scheme in the OpenAPI document, so generated clients can send it."""

    target_class = BearerTokenAuthentication
    name = "apiToken"

    def get_security_requirement(self, auto_schema):
        # Only where a token is accepted: a generated client that sent it to
        # POST /regions would get the read-only 403, not the session's answer.
        if not _token_may_call(auto_schema.method, auto_schema.view):
            return None
        return super().get_security_requirement(auto_schema)

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (tmk_...) from the viewer's account menu; "
            "read-only, sees what its user sees.",
        }
