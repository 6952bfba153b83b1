"""Personal API tokens: what a script sends as ``Authorization: Bearer <token>``.

A token reads ``tmk_<prefix>_<secret>``. The prefix is public (shown in
lists and the admin, used to find the row); only the SHA-256 of the whole
token is stored, so a copy of the database lets nobody act as a user. The
secret is 32 random bytes: a slow password hash would add nothing against
guessing and would cost every API request.
"""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

TOKEN_KIND = "tmk"
PREFIX_BYTES = 4
SECRET_BYTES = 32


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_token(token: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed token, else None."""
    kind, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if kind != TOKEN_KIND or len(prefix) != 2 * PREFIX_BYTES or not secret:
        return None
    return prefix, secret


class ApiTokenQuerySet(models.QuerySet):
    def usable(self, now=None):
        """Tokens that still open the API: not revoked, not expired, owner active."""
        now = now or timezone.now()
        return self.filter(revoked__isnull=True, expires__gt=now, user__is_active=True)


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=2 * PREFIX_BYTES, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created = models.DateTimeField(default=timezone.now, editable=False)
    expires = models.DateTimeField()
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    revoked = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        app_label = "tilemaker_site"
        ordering = ("-created",)
        verbose_name = "API token"

    def __str__(self):
        return f"{self.name} ({TOKEN_KIND}_{self.prefix}_…)"

    @classmethod
    def issue(cls, user, name: str, *, days: int | None = None) -> tuple["ApiToken", str]:
        """A new token for ``user``, saved, and its secret (returned once, never stored)."""
        days = settings.API_TOKEN_DEFAULT_DAYS if days is None else days
        if not 1 <= days <= settings.API_TOKEN_MAX_DAYS:
            raise ValueError(f"days must be between 1 and {settings.API_TOKEN_MAX_DAYS}")
        while True:
            prefix = secrets.token_hex(PREFIX_BYTES)
            if not cls.objects.filter(prefix=prefix).exists():
                break
        token = f"{TOKEN_KIND}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        now = timezone.now()
        row = cls.objects.create(
            user=user,
            name=name,
            prefix=prefix,
            secret_hash=token_hash(token),
            created=now,
            expires=now + timedelta(days=days),
        )
        return row, token

    @property
    def state(self) -> str:
        if self.revoked is not None:
            return "revoked"
        if self.expires <= timezone.now():
            return "expired"
        return "active"
