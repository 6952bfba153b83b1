"""Parsing of the GitHub organisation/team to grant mapping.

Settings call :func:`parse_github_org_grants` once on
``TILEMAKER_GITHUB_ORG_GRANTS``; the login pipeline in
``tilemaker_site.accounts.pipeline`` applies the result. Kept free of
models so settings can import it.
"""

import re
from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured

# GitHub organisation logins and team slugs; anything else is refused so
# that the names can be placed in API URL paths without escaping.
_ORG_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_TEAM_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
_GRANT_MAX_LENGTH = 200


@dataclass(frozen=True)
class GithubGrantRule:
    """Members of ``org`` (or of its team ``team``) hold the grant named ``grant``."""

    org: str
    team: str | None
    grant: str

    @property
    def source(self) -> str:
        return f"{self.org}/{self.team}" if self.team else self.org


def parse_github_org_grants(value: str | None, *, variable: str) -> tuple[GithubGrantRule, ...]:
    """Rules from ``"org:grant,org/team:grant"``; an empty value gives no rules.

    Raises ``ImproperlyConfigured`` naming ``variable`` and the faulty item.
    """
    rules: list[GithubGrantRule] = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        source, colon, grant = item.partition(":")
        source, grant = source.strip(), grant.strip()
        if not colon or not source or not grant:
            raise ImproperlyConfigured(
                f"{variable}: {item!r} should be 'org:grant' or 'org/team:grant'"
            )
        org, slash, team = source.partition("/")
        if not _ORG_RE.match(org):
            raise ImproperlyConfigured(f"{variable}: {item!r} has an invalid organisation {org!r}")
        if slash and not _TEAM_RE.match(team):
            raise ImproperlyConfigured(f"{variable}: {item!r} has an invalid team slug {team!r}")
        if len(grant) > _GRANT_MAX_LENGTH:
            raise ImproperlyConfigured(
                f"{variable}: {item!r} has a grant name longer than {_GRANT_MAX_LENGTH} characters"
            )
        rule = GithubGrantRule(org=org.lower(), team=team.lower() if slash else None, grant=grant)
        if rule not in rules:
            rules.append(rule)
    return tuple(rules)
