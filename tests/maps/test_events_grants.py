"""Grant-membership events on ``ws/events``: what a user hears when what they hold changes.

A grant given to or taken from a user (directly, through one of their Django
groups, by their joining or leaving a group, or by the GitHub organisation
grants set at login) changes what they see without any object changing. Only
that user's sockets hear it: "added" for every object they now see, "removed"
for every one they no longer see, nothing about anything else. As in
test_events.py, "never hears" is checked by order: a public change follows,
and it must be the next message.
"""

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from django.contrib.auth.models import Group, User
from django.db import transaction
from social_django.models import UserSocialAuth

from maps.models import Grant, Layer
from tests.maps.test_events import _connect, _next, _session_cookie, _update
from tests.support.catalogue import BOXES, SECRET, SOURCE_GROUPS, walk
from tilemaker_site.accounts import pipeline

pytestmark = pytest.mark.django_db(transaction=True)

KINDS_BY_DEPTH = ("group", "map", "band", "layer")

# Everything the grant hides, worked out from the catalogue's description.
HIDDEN = sorted(
    [(KINDS_BY_DEPTH[depth], node.public_id) for depth, node, hidden, _ in walk() if hidden]
    + [("catalogue", name) for name, spec in SOURCE_GROUPS.items() if spec["restricted"]]
    + [("box", name) for name, (restricted, _) in BOXES.items() if restricted]
)
PUBLIC_LAYER = "coadd-f090-u"


def _events(action: str) -> list[dict]:
    return [{"event": action, "kind": kind, "id": id_} for kind, id_ in HIDDEN]


async def _received(socket, count: int) -> list[dict]:
    events = [await _next(socket) for _ in range(count)]
    return sorted(events, key=lambda event: (event["kind"], event["id"]))


async def _public_change_is_next(*sockets) -> None:
    await _update(Layer, {"layer_id": PUBLIC_LAYER}, name="U renamed")
    for socket in sockets:
        assert await _next(socket) == {"event": "changed", "kind": "layer", "id": PUBLIC_LAYER}


@pytest.fixture
def users(catalogue):
    """The member whose grants change, and a bystander who never holds the grant."""
    member = User.objects.create_user("member", password="pw-not-used")
    bystander = User.objects.create_user("bystander", password="pw-not-used")
    return member, bystander


def _membership_scenario(users, give, take) -> None:
    """``give(member)`` must announce every hidden object as added to the member only,
    ``take(member)`` every one as removed; the bystander hears neither."""
    _announced(users, (give, "added"), (take, "removed"))


def _announced(users, *steps) -> None:
    """For each ``(change, action)`` in turn, ``change(member)`` must announce every
    hidden object with ``action`` to the member only; the bystander hears nothing."""
    member, bystander = users
    member_cookie, bystander_cookie = _session_cookie(member), _session_cookie(bystander)

    async def scenario():
        socket, other = await _connect(member_cookie), await _connect(bystander_cookie)
        for change, action in steps:
            await database_sync_to_async(change)(member)
            assert await _received(socket, len(HIDDEN)) == _events(action)
            await _public_change_is_next(socket, other)
        await socket.disconnect()
        await other.disconnect()

    async_to_sync(scenario)()


def _secret():
    return Grant.objects.get(name=SECRET)


def test_a_grant_given_to_and_taken_from_the_user(users):
    _membership_scenario(
        users, lambda u: _secret().users.add(u), lambda u: _secret().users.remove(u)
    )


def test_a_grant_added_to_and_cleared_from_the_users_own_grants(users):
    _membership_scenario(
        users, lambda u: u.tilemaker_grants.add(_secret()), lambda u: u.tilemaker_grants.clear()
    )


def test_a_grant_given_to_and_taken_from_a_group_of_the_user(users):
    def give(user):
        group = Group.objects.create(name="act-members")
        user.groups.add(group)
        # No grant yet: joining the group changed nothing the user sees.
        _secret().groups.add(group)

    def take(user):
        Group.objects.get(name="act-members").tilemaker_grants.remove(_secret())

    _membership_scenario(users, give, take)


def test_the_user_joining_and_leaving_a_group_that_holds_the_grant(users):
    group = Group.objects.create(name="act-members")
    _secret().groups.add(group)
    _membership_scenario(users, lambda u: group.user_set.add(u), lambda u: u.groups.remove(group))


def test_the_grant_cleared_from_every_group_and_the_group_emptied(users):
    group = Group.objects.create(name="act-members")

    def give(user):
        _secret().groups.add(group)
        group.user_set.add(user)

    _membership_scenario(users, give, lambda u: _secret().groups.clear())
    _membership_scenario(users, give, lambda u: group.user_set.clear())


def test_github_organisation_grants_set_at_login(users, settings, monkeypatch):
    """The login pipeline gives and takes the mapped grant as GitHub's answer changes."""
    settings.AUTH_TYPE = "github"
    member, _ = users
    social = UserSocialAuth.objects.create(user=member, provider="github", uid="4242")
    entitled: set[str] = set()
    monkeypatch.setattr(pipeline, "entitled_grant_names", lambda *a, **k: set(entitled))

    class Backend:
        name = "github"

    def login(user):
        pipeline.sync_github_grants(
            Backend(),
            user=user,
            social=UserSocialAuth.objects.get(pk=social.pk),
            response={"access_token": "token", "login": "member"},
        )

    def give(user):
        entitled.add(SECRET)
        login(user)

    def take(user):
        entitled.clear()
        login(user)

    _membership_scenario(users, give, take)


def test_a_change_that_leaves_the_users_grants_as_they_were_is_not_announced(users):
    """A second way to hold a grant already held (here: a group) changes nothing seen."""
    member, _ = users
    _secret().users.add(member)
    cookie = _session_cookie(member)

    async def scenario():
        socket = await _connect(cookie)

        def join(user):
            group = Group.objects.create(name="act-members")
            _secret().groups.add(group)
            user.groups.add(group)

        await database_sync_to_async(join)(member)
        await _public_change_is_next(socket)
        await socket.disconnect()

    async_to_sync(scenario)()


def test_a_grant_given_and_taken_back_before_delivery_announces_nothing(users):
    """Both messages arrive after both changes (one transaction): neither "added"
    (the user no longer sees the objects) nor "removed" (that would name objects
    this viewer was never shown)."""
    member, _ = users
    cookie = _session_cookie(member)

    async def scenario():
        socket = await _connect(cookie)

        def give_and_take(user):
            with transaction.atomic():
                _secret().users.add(user)
                _secret().users.remove(user)

        await database_sync_to_async(give_and_take)(member)
        await _public_change_is_next(socket)
        await socket.disconnect()

    async_to_sync(scenario)()


def test_the_user_deactivated_and_reactivated(users):
    """A deactivated user holds no grant: their open viewer is told at once."""
    _secret().users.add(users[0])

    def set_active(active):
        def change(user):
            user.is_active = active
            user.save()

        return change

    _announced(users, (set_active(False), "removed"), (set_active(True), "added"))


def test_the_user_deleted(users):
    """The deleted user's open socket is told that what their grant showed is gone."""
    _secret().users.add(users[0])
    _announced(users, (lambda user: user.delete(), "removed"))


def test_a_group_holding_the_grant_deleted(users):
    """Deleting a group drops its members' memberships without m2m_changed."""
    group = Group.objects.create(name="act-members")
    _secret().groups.add(group)
    _membership_scenario(
        users, lambda u: group.user_set.add(u), lambda u: Group.objects.get(pk=group.pk).delete()
    )
