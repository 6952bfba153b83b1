"""The admin is staff-only and shows who holds which grant and what each grant restricts."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client
from social_django.models import UserSocialAuth

from catalogs.models import SourceGroup
from maps.models import Grant, Map, MapGroup
from sky_regions.models import Box
from tilemaker_site.accounts.pipeline import GITHUB_GRANTS_KEY

pytestmark = [
    pytest.mark.django_db,
]

User = get_user_model()


@pytest.fixture
def world():
    """A grant held directly, via a group and via GitHub, restricting one object of each kind."""
    grant = Grant.objects.create(name="act-private", description="ACT DR6 before release")
    Grant.objects.create(name="unused")
    direct = User.objects.create_user("dora")
    grouped = User.objects.create_user("gus")
    octo = User.objects.create_user("octo")
    group = Group.objects.create(name="collaboration")
    grouped.groups.add(group)
    grant.users.add(direct, octo)
    grant.groups.add(group)
    UserSocialAuth.objects.create(
        user=octo, provider="github", uid="77", extra_data={GITHUB_GRANTS_KEY: ["act-private"]}
    )
    group_obj = MapGroup.objects.create(map_group_id="dr6", name="DR6 maps", grant=grant)
    Map.objects.create(map_id="f090", name="f090 secret map", map_group=group_obj, grant=grant)
    SourceGroup.objects.create(source_group_id="clusters", name="Cluster list", grant=grant)
    Box.objects.create(
        name="Deep field",
        grant=grant,
        top_left_ra=10,
        top_left_dec=5,
        bottom_right_ra=5,
        bottom_right_dec=0,
    )
    return grant


def admin_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-not-used"))
    return client


@pytest.mark.parametrize("who", ["anonymous", "member", "inactive-staff"])
@pytest.mark.parametrize(
    "path", ["/admin/", "/admin/maps/grant/", "/admin/auth/user/", "/admin/maps/grant/add/"]
)
def test_admin_sends_non_staff_to_the_login_page(who, path):
    client = Client()
    if who == "member":
        client.force_login(User.objects.create_user("member"))
    elif who == "inactive-staff":
        user = User.objects.create_user("old", is_staff=True, is_active=False)
        client.force_login(user)

    answer = client.get(path)

    assert answer.status_code == 302
    assert answer["Location"].startswith("/admin/login/")


def test_staff_without_permission_cannot_see_grants():
    client = Client()
    client.force_login(User.objects.create_user("clerk", is_staff=True))
    assert client.get("/admin/maps/grant/").status_code == 403
    assert client.get("/admin/auth/user/").status_code == 403


def test_staff_with_view_permission_sees_grants(world):
    clerk = User.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_grant"))
    client = Client()
    client.force_login(clerk)
    answer = client.get("/admin/maps/grant/")
    assert answer.status_code == 200
    assert b"act-private" in answer.content
    assert client.post("/admin/maps/grant/add/", {"name": "x"}).status_code == 403


def test_grant_list_counts_holders_and_restricted_objects(world):
    answer = admin_client().get("/admin/maps/grant/")
    assert answer.status_code == 200
    rows = {row.name: row for row in answer.context["cl"].result_list}
    assert rows["act-private"]._user_count == 2
    assert rows["act-private"]._group_count == 1
    admin = answer.context["cl"].model_admin
    assert admin.restricted_count(rows["act-private"]) == 4
    assert admin.restricted_count(rows["unused"]) == 0


def test_grant_page_shows_every_holder_and_what_it_restricts(world):
    answer = admin_client().get(f"/admin/maps/grant/{world.pk}/change/")
    html = answer.content.decode()
    assert answer.status_code == 200
    for expected in (
        ">dora</a> (directly)",
        ">gus</a> (group collaboration)",
        ">octo</a> (GitHub membership)",
    ):
        assert expected in html
    # Each restricted object is named and linked to its admin page.
    for kind, obj in (
        ("map group", MapGroup.objects.get()),
        ("map", Map.objects.get()),
        ("source group", SourceGroup.objects.get()),
        ("box", Box.objects.get()),
    ):
        meta = obj._meta
        url = f"/admin/{meta.app_label}/{meta.model_name}/{obj.pk}/change/"
        assert f'{kind}: <a href="{url}">{obj}</a>' in html, kind
    # Users and groups are given with Django's two-pane selector.
    assert 'id="id_users"' in html
    assert 'id="id_groups"' in html
    assert html.count('class="selectfilter"') == 2


def test_grant_is_created_and_given_in_the_admin(world):
    group = Group.objects.get(name="collaboration")
    dora = User.objects.get(username="dora")
    answer = admin_client().post(
        "/admin/maps/grant/add/",
        {"name": "so-internal", "description": "", "users": [dora.pk], "groups": [group.pk]},
    )
    assert answer.status_code == 302
    grant = Grant.objects.get(name="so-internal")
    assert list(grant.users.all()) == [dora]
    assert list(grant.groups.all()) == [group]


def test_user_page_lists_all_grants_with_their_source(world):
    octo = User.objects.get(username="octo")
    octo.groups.add(Group.objects.get(name="collaboration"))
    answer = admin_client().get(f"/admin/auth/user/{octo.pk}/change/")
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "act-private (GitHub membership, group collaboration)" in html
    assert "Grants held directly" in html


def test_group_page_has_a_grant_inline(world):
    group = Group.objects.get(name="collaboration")
    answer = admin_client().get(f"/admin/auth/group/{group.pk}/change/")
    assert answer.status_code == 200
    assert "Grants held by this group" in answer.content.decode()
