"""Grants from GitHub organisation/team membership, re-read at every login; grants via groups."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from social_django.models import UserSocialAuth

from maps.models import Grant
from tests.support.image_layers import make_layer
from tests.support.login_flow import github_login, me
from tilemaker_site.accounts.github import GithubGrantRule, parse_github_org_grants
from tilemaker_site.accounts.models import ApiToken
from tilemaker_site.accounts.pipeline import GITHUB_GRANTS_KEY

pytestmark = [
    pytest.mark.django_db,
]


def login_grants(stub, login: str) -> list[str]:
    """Log in afresh (as the next day's session would) and return the grants /auth/me reports."""
    client = Client()
    finished = github_login(client, stub, login)
    assert finished.status_code == 302, finished.content
    answer = me(client)
    assert answer["username"] == login
    return answer["grants"]


@pytest.mark.parametrize(
    ("orgs", "teams", "expected"),
    [
        ({}, {}, []),
        ({"act": "active"}, {}, ["act-private"]),
        ({"act": "pending"}, {}, []),
        ({"act": "active"}, {("act", "lensing"): "active"}, ["act-private", "lens-team"]),
        ({}, {("act", "lensing"): "active"}, ["lens-team"]),
        ({"simons": "active"}, {("act", "other-team"): "active"}, ["so-internal"]),
    ],
    ids=["none", "org", "invited-only", "org-and-team", "team-only", "other-team"],
)
def test_membership_gives_mapped_grants(github, orgs, teams, expected):
    for org, state in orgs.items():
        github.org_members.setdefault(org, {})["alice"] = state
    for key, state in teams.items():
        github.team_members.setdefault(key, {})["alice"] = state

    assert login_grants(github, "alice") == expected


def test_team_membership_is_asked_about_the_user_by_name(github):
    github.team_members[("act", "lensing")] = {"alice": "active"}
    login_grants(github, "alice")
    assert ("GET", "/orgs/act/teams/lensing/memberships/alice") in github.requests
    assert ("GET", "/user/memberships/orgs/act") in github.requests


def test_lost_membership_drops_the_grant_at_next_login(github):
    github.org_members["act"] = {"alice": "active"}
    github.team_members[("act", "lensing")] = {"alice": "active"}
    assert login_grants(github, "alice") == ["act-private", "lens-team"]

    del github.team_members[("act", "lensing")]["alice"]
    assert login_grants(github, "alice") == ["act-private"]

    github.org_members["act"]["alice"] = "pending"
    assert login_grants(github, "alice") == []
    assert not Grant.objects.get(name="act-private").users.exists()


def test_hand_given_grants_survive_membership_changes(github):
    github.add_account("alice")
    user = get_user_model().objects.create_user("alice")
    by_hand = Grant.objects.create(name="act-private")
    unmapped = Grant.objects.create(name="curated")
    by_hand.users.add(user)
    unmapped.users.add(user)
    first = Client()
    github.next_login = "alice"
    # The account is new to social-auth, so the pipeline makes a new user;
    # link it to the existing one by logging in as that user first.
    first.force_login(user)
    github.org_members["act"] = {"alice": "active"}
    github_login(first, github, "alice")
    assert me(first)["grants"] == ["act-private", "curated"]

    github.org_members["act"] = {}
    second = Client()
    github_login(second, github, "alice")

    assert me(second)["grants"] == ["act-private", "curated"]


def test_mapping_removed_from_settings_revokes_at_next_login(github, settings):
    github.org_members["simons"] = {"alice": "active"}
    assert login_grants(github, "alice") == ["so-internal"]

    settings.GITHUB_ORG_GRANTS = ()
    assert login_grants(github, "alice") == []


def test_github_token_is_not_kept_after_login(github):
    github.org_members["act"] = {"alice": "active"}
    login_grants(github, "alice")
    (social,) = UserSocialAuth.objects.filter(user__username="alice")
    assert "access_token" not in social.extra_data
    assert social.extra_data[GITHUB_GRANTS_KEY] == ["act-private"]
    assert not any(value.startswith("gho_") for value in map(str, social.extra_data.values()))


def test_grant_named_in_mapping_is_created_once(github):
    github.org_members["act"] = {"alice": "active", "bob": "active"}
    assert not Grant.objects.filter(name="act-private").exists()

    login_grants(github, "alice")
    login_grants(github, "bob")

    grant = Grant.objects.get(name="act-private")
    assert sorted(grant.users.values_list("username", flat=True)) == ["alice", "bob"]


@pytest.mark.parametrize(
    "failing", ["/user/memberships/orgs/act", "/orgs/act/teams/lensing/memberships/alice"]
)
def test_github_outage_at_membership_check_fails_closed(github, failing):
    github.org_members["act"] = {"alice": "active"}
    github.team_members[("act", "lensing")] = {"alice": "active"}
    assert login_grants(github, "alice") == ["act-private", "lens-team"]

    github.failing_paths.add(failing)
    kept = {"act-private", "lens-team"} - {
        "act-private" if "memberships/orgs" in failing else "lens-team"
    }
    assert login_grants(github, "alice") == sorted(kept)


def test_without_read_org_scope_private_membership_is_invisible(github, settings):
    github.org_members["act"] = {"alice": "active"}
    settings.SOCIAL_AUTH_GITHUB_SCOPE = []
    assert login_grants(github, "alice") == []


def test_grants_through_django_groups_apply_and_end_at_once(github):
    group = Group.objects.create(name="collaboration")
    Grant.objects.create(name="act-private").groups.add(group)
    client = Client()
    github_login(client, github, "alice")
    user = get_user_model().objects.get(username="alice")
    assert me(client)["grants"] == []

    user.groups.add(group)
    assert me(client)["grants"] == ["act-private"]

    user.groups.remove(group)
    assert me(client)["grants"] == []


def test_deactivated_user_loses_everything_at_once(github):
    github.org_members["act"] = {"alice": "active"}
    client = Client()
    github_login(client, github, "alice")
    assert me(client)["grants"] == ["act-private"]

    get_user_model().objects.filter(username="alice").update(is_active=False)

    answer = me(client)
    assert answer["authenticated"] is False
    assert answer["grants"] == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("act:act-private", (GithubGrantRule("act", None, "act-private"),)),
        (
            " ACT/Lensing : lens , act:act-private,act:act-private",
            (
                GithubGrantRule("act", "lensing", "lens"),
                GithubGrantRule("act", None, "act-private"),
            ),
        ),
        ("simons-obs/so.data_team:so", (GithubGrantRule("simons-obs", "so.data_team", "so"),)),
        ("a:b:c", (GithubGrantRule("a", None, "b:c"),)),
    ],
)
def test_mapping_parses(value, expected):
    assert parse_github_org_grants(value, variable="V") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("act", "'act' should be 'org:grant'"),
        ("act:", "'act:' should be"),
        (":grant", "':grant' should be"),
        ("../x:grant", "invalid organisation '..'"),
        ("act/../../user:grant", "invalid team slug '../../user'"),
        ("act/:grant", "invalid team slug ''"),
        ("ac t:grant", "invalid organisation 'ac t'"),
        ("act:" + "g" * 201, "longer than 200"),
    ],
)
def test_bad_mapping_is_refused_naming_variable_and_item(value, message):
    with pytest.raises(ImproperlyConfigured, match=r"^V: ") as caught:
        parse_github_org_grants(value, variable="V")
    assert message in str(caught.value)


def test_an_api_token_sees_the_grants_of_its_users_last_github_login(github, image_map):
    layer = make_layer("act-only", image_map, grant=Grant.objects.create(name="act-private"))
    github.org_members["act"] = {"alice": "active"}
    assert login_grants(github, "alice") == ["act-private"]
    _token, secret = ApiToken.issue(get_user_model().objects.get(username="alice"), "notebook")
    script = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert script.get(f"/layers/{layer.layer_id}").status_code == 200

    github.org_members["act"]["alice"] = "pending"
    assert login_grants(github, "alice") == []
    hidden = script.get(f"/layers/{layer.layer_id}")
    assert (hidden.status_code, hidden.json()) == (404, {"detail": "No layer with that id."})
