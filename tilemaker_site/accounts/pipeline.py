"""Grants given by GitHub organisation and team membership, re-read at every login.

``TILEMAKER_GITHUB_ORG_GRANTS`` maps an organisation, or one of its teams, to
a grant. At each GitHub login the pipeline step :func:`sync_github_grants`
asks GitHub, with the user's own token, whether the user is an active member,
then adds the user to the grants they are entitled to and removes them from
the mapped grants they no longer are. Grants that an administrator gave the
user by hand are left alone: only grants this step added are ever removed,
and that list is kept in the GitHub account's ``extra_data``.
"""

import logging
from urllib.parse import quote, urljoin

from django.conf import settings
from django.db import transaction
from social_core.exceptions import SocialAuthBaseException

from maps.models import Grant
from tilemaker_site.accounts.github import GithubGrantRule

logger = logging.getLogger("tilemaker.auth")

GITHUB_GRANTS_KEY = "tilemaker_github_grants"


def membership_url(api_url: str, rule: GithubGrantRule, *, username: str) -> str:
    """The GitHub API URL answering whether the token's owner is a member for ``rule``."""
    if rule.team:
        user = quote(username, safe="")
        return urljoin(api_url, f"orgs/{rule.org}/teams/{rule.team}/memberships/{user}")
    return urljoin(api_url, f"user/memberships/orgs/{rule.org}")


def is_active_member(backend, rule: GithubGrantRule, *, username: str, access_token: str) -> bool:
    """Whether GitHub says the user is an active (not merely invited) member.

    Any failure to find out counts as "not a member": a grant is only ever
    given on a positive answer.
    """
    url = membership_url(backend.api_url(), rule, username=username)
    try:
        answer = backend.get_json(url, headers={"Authorization": f"token {access_token}"})
    except SocialAuthBaseException as error:
        if getattr(error, "status_code", None) != 404:
            logger.warning(
                "GitHub membership of %s for user %s could not be read (%s); "
                "treating the user as not a member",
                rule.source,
                username,
                error.code,
            )
        return False
    return isinstance(answer, dict) and answer.get("state") == "active"


def entitled_grant_names(backend, *, username: str, access_token: str) -> set[str]:
    """Names of the grants that the configured rules give this GitHub user."""
    names: set[str] = set()
    for rule in settings.GITHUB_ORG_GRANTS:
        if rule.grant in names:
            continue
        if is_active_member(backend, rule, username=username, access_token=access_token):
            names.add(rule.grant)
    return names


def github_grant_names(user) -> set[str]:
    """Grants this pipeline gave ``user`` at their last GitHub login."""
    names: set[str] = set()
    for social in user.social_auth.filter(provider="github"):
        names.update(social.extra_data.get(GITHUB_GRANTS_KEY, []))
    return names


def sync_github_grants(backend, user=None, social=None, response=None, *args, **kwargs):
    """Social-auth pipeline step: bring the user's mapped grants in line with GitHub.

    The GitHub token is used here and then dropped from ``extra_data``:
    nothing after login needs it, and a stored token would let anyone who
    reads the database act on GitHub as the user.
    """
    if backend.name != "github" or user is None or social is None:
        return
    response = response or {}
    access_token = response.get("access_token") or social.extra_data.get("access_token")
    username = response.get("login") or social.extra_data.get("login") or ""
    previous = set(social.extra_data.get(GITHUB_GRANTS_KEY, []))
    entitled = (
        entitled_grant_names(backend, username=username, access_token=access_token)
        if access_token and username
        else set()
    )
    with transaction.atomic():
        held_directly = set(user.tilemaker_grants.values_list("name", flat=True))
        given_now = set()
        for name in sorted(entitled):
            if name in held_directly and name not in previous:
                # Given by hand: stays the administrator's to take away.
                continue
            grant, created = Grant.objects.get_or_create(
                name=name, defaults={"description": "Given by GitHub membership at login."}
            )
            if created:
                logger.info("created grant %s for GitHub membership", name)
            grant.users.add(user)
            given_now.add(name)
        lost = previous - entitled
        for grant in Grant.objects.filter(name__in=lost):
            grant.users.remove(user)
        if lost:
            logger.info("user %s lost grants %s at login", user.get_username(), sorted(lost))
        for secret in ("access_token", "refresh_token"):
            social.extra_data.pop(secret, None)
        social.extra_data[GITHUB_GRANTS_KEY] = sorted(given_now)
        social.save(update_fields=["extra_data"])
