"""The logged-in user's own API tokens under ``/auth/tokens``: create, list, revoke.

Account management: the session alone authenticates here (with DRF's CSRF
check), never a token, so a leaked token cannot mint or revoke tokens.
Left out of the OpenAPI document, which describes what scripts call.
"""

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tilemaker_site.accounts.models import TOKEN_KIND, ApiToken
from tilemaker_site.errors import BadRequest

NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length


def token_summary(token: ApiToken) -> dict:
    """What the owner may see of a token again: never the secret."""
    return {
        "id": token.pk,
        "name": token.name,
        "prefix": f"{TOKEN_KIND}_{token.prefix}",
        "created": token.created.isoformat(),
        "expires": token.expires.isoformat(),
        "last_used": token.last_used.isoformat() if token.last_used else None,
        "state": token.state,
    }


def _parse_new_token(data) -> tuple[str, int]:
    if not isinstance(data, dict):
        raise BadRequest("send a JSON object with 'name' (and optionally 'days')")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > NAME_MAX_LENGTH:
        raise BadRequest(f"name must be 1 to {NAME_MAX_LENGTH} characters")
    days = data.get("days", settings.API_TOKEN_DEFAULT_DAYS)
    maximum = settings.API_TOKEN_MAX_DAYS
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= maximum:
        raise BadRequest(f"days must be a whole number from 1 to {maximum}")
    return name.strip(), days


class _OwnTokens(APIView):
    authentication_classes = (SessionAuthentication,)
    permission_classes = (IsAuthenticated,)


@extend_schema(exclude=True)
class TokenList(_OwnTokens):
    def get(self, request):
        return Response([token_summary(t) for t in request.user.api_tokens.all()])

    def post(self, request):
        name, days = _parse_new_token(request.data)
        token, secret = ApiToken.issue(request.user, name, days=days)
        # The one time the secret is ever sent.
        return Response({**token_summary(token), "token": secret}, status=status.HTTP_201_CREATED)


@extend_schema(exclude=True)
class TokenDetail(_OwnTokens):
    def delete(self, request, token_id: int):
        token = request.user.api_tokens.filter(pk=token_id).first()
        if token is None:
            return Response({"detail": "No API token with that id."}, status=404)
        if token.revoked is None:
            token.revoked = timezone.now()
            token.save(update_fields=["revoked"])
        return Response(status=status.HTTP_204_NO_CONTENT)
