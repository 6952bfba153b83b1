"""A small catalogue with grants at every level, and clients for every kind of caller.

The hierarchy (``*`` = restricted by the grant ``act-internal``)::

    act-dr6 "ACT DR6"
      act-coadd "ACT coadd"
        coadd-f090 "f090"
          coadd-f090-i "I"            vmin/vmax -500/500     (Stokes I, Q, U)
          coadd-f090-q* "Q secret"    hidden deep in a visible band
          coadd-f090-u "U"            vmin/vmax auto
        coadd-f150* "f150 hidden"
          coadd-f150-i "I150"         visible itself, under a hidden band
      act-night* "ACT night"
        night-f220 "f220"
          night-f220-i "I220"         under a hidden map
    so-private* "SO private"
      so-map "SO map"
        so-f280 "f280"
          so-f280-i "I280"            under a hidden group
    planck "Planck"
      planck-pr3 "Planck PR3"
        pr3-f353 "f353"
          pr3-f353-i "I353"

Source groups ``bright`` and ``secret-cat*``; boxes ``Cluster box`` and
``Secret box*``. ``CATALOGUE`` below is the same tree as data, so tests can
work out by brute force what each caller must see.

A pytest plugin (``pytest_plugins`` in tests/conftest.py), so the catalogue and
caller fixtures reach the maps, catalogs and site tests alike.
"""

from dataclasses import dataclass, field

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client, override_settings

from catalogs.models import Source, SourceGroup
from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Grant, Layer, Map, MapGroup
from sky_regions.models import Box
from tilemaker_site.accounts.models import ApiToken

SECRET = "act-internal"


@dataclass
class Node:
    public_id: str
    name: str
    restricted: bool = False
    children: list["Node"] = field(default_factory=list)
    layer: dict = field(default_factory=dict)


def _layer(public_id, name, restricted=False, **display):
    return Node(public_id, name, restricted, layer=display)


CATALOGUE = [
    Node(
        "act-dr6",
        "ACT DR6",
        children=[
            Node(
                "act-coadd",
                "ACT coadd",
                children=[
                    Node(
                        "coadd-f090",
                        "f090",
                        children=[
                            _layer(
                                "coadd-f090-i",
                                "I",
                                vmin=-500.0,
                                vmax=500.0,
                                quantity="T (I)",
                                units="uK",
                                cmap="RdBu_r",
                                index=0,
                                stokes="I",
                            ),
                            _layer(
                                "coadd-f090-q", "Q secret", restricted=True, index=1, stokes="Q"
                            ),
                            _layer("coadd-f090-u", "U", cmap="viridis", index=2, stokes="U"),
                        ],
                    ),
                    Node(
                        "coadd-f150",
                        "f150 hidden",
                        restricted=True,
                        children=[_layer("coadd-f150-i", "I150", index=0)],
                    ),
                ],
            ),
            Node(
                "act-night",
                "ACT night",
                restricted=True,
                children=[
                    Node("night-f220", "f220", children=[_layer("night-f220-i", "I220", index=0)])
                ],
            ),
        ],
    ),
    Node(
        "so-private",
        "SO private",
        restricted=True,
        children=[
            Node(
                "so-map",
                "SO map",
                children=[Node("so-f280", "f280", children=[_layer("so-f280-i", "I280", index=0)])],
            )
        ],
    ),
    Node(
        "planck",
        "Planck",
        children=[
            Node(
                "planck-pr3",
                "Planck PR3",
                children=[
                    Node("pr3-f353", "f353", children=[_layer("pr3-f353-i", "I353", index=0)])
                ],
            )
        ],
    ),
]

SOURCE_GROUPS = {
    "bright": {
        "restricted": False,
        "sources": [
            ("src-a", 10.5, -5.25, {"flux_mjy": 12.5, "snr": 30}),
            ("src-b", 200.0, 1.0, {}),
            ("", 359.75, -60.0, {"note": "unnamed, ünïcode"}),
        ],
    },
    "secret-cat": {"restricted": True, "sources": [("hidden-src", 1.0, 2.0, {})]},
}

BOXES = {
    "Cluster box": (False, (10.0, 5.0, 20.0, -5.0)),
    "Secret box": (True, (30.0, 10.0, 40.0, 0.0)),
}


def walk(nodes=CATALOGUE, depth=0, hidden=False, path=()):
    """Yield ``(depth, node, hidden_for_anyone_without_the_grant, ancestor ids)`` top down."""
    for node in nodes:
        node_hidden = hidden or node.restricted
        yield depth, node, node_hidden, path
        yield from walk(node.children, depth + 1, node_hidden, (*path, node.public_id))


@pytest.fixture
def grant(db):
    return Grant.objects.create(name=SECRET, description="ACT collaboration only")


@pytest.fixture
def catalogue(db, grant, make_car_map):
    """Build ``CATALOGUE``, ``SOURCE_GROUPS`` and ``BOXES`` in the test database."""
    fits_path = str(make_car_map("act_like.fits", n_planes=3))
    models = (MapGroup, Map, Band, Layer)
    id_fields = ("map_group_id", "map_id", "band_id", "layer_id")
    parent_fields = (None, "map_group", "map", "band")
    created = {}
    for depth, node, _hidden, path in walk():
        fields = {
            id_fields[depth]: node.public_id,
            "name": node.name,
            "description": f"About {node.name}",
            "grant": grant if node.restricted else None,
            "position": len(created),
        }
        if parent_fields[depth]:
            fields[parent_fields[depth]] = created[path[-1]]
        if depth == 3:
            display = dict(node.layer)
            index = display.pop("index")
            fields.update(display)
            fields["provider"] = {"provider_type": "fits", "filename": fits_path, "index": index}
        obj = models[depth](**fields)
        if depth == 3:
            refresh_layer_geometry(obj)
        obj.save()
        created[node.public_id] = obj
    for position, (group_id, spec) in enumerate(SOURCE_GROUPS.items()):
        group = SourceGroup.objects.create(
            source_group_id=group_id,
            name=group_id.replace("-", " ").title(),
            description=f"{group_id} catalogue",
            grant=grant if spec["restricted"] else None,
            position=position,
        )
        Source.objects.bulk_create(
            Source(source_group=group, name=name, ra=ra, dec=dec, extra=extra)
            for name, ra, dec, extra in spec["sources"]
        )
    for position, (name, (restricted, corners)) in enumerate(BOXES.items()):
        Box.objects.create(
            name=name,
            description=f"{name} description",
            grant=grant if restricted else None,
            top_left_ra=corners[0],
            top_left_dec=corners[1],
            bottom_right_ra=corners[2],
            bottom_right_dec=corners[3],
            position=position,
        )
    return created


@pytest.fixture
def anonymous_client():
    return Client()


def _logged_in(username, setup=None):
    user = User.objects.create_user(username, password="pw-not-used")
    if setup:
        setup(user)
    client = Client()
    client.force_login(user)
    return client


# Each caller kind: (id, whether it holds the grant, client factory given the grant).
CALLERS = {
    "anonymous": (False, lambda grant: Client()),
    "user_without_grant": (False, lambda grant: _logged_in("nogrant")),
    "user_with_grant": (True, lambda grant: _logged_in("direct", lambda u: grant.users.add(u))),
    "user_via_group": (
        True,
        lambda grant: _logged_in("grouped", lambda u: _join_group_holding(u, grant)),
    ),
    "mock_grants": (True, None),
    "token_with_grant": (True, lambda grant: _token_client("tokenholder", grant)),
    "token_without_grant": (False, lambda grant: _token_client("tokenuser")),
    # Another scheme is not a token: the caller is anonymous.
    "token_wrong_scheme": (False, lambda grant: _token_client("tokenscheme", grant, "Token")),
}


def _token_client(username, grant=None, scheme="Bearer"):
    """A client without a session that sends a fresh API token of a user on every request."""
    user = User.objects.create_user(username, password="pw-not-used")
    if grant:
        grant.users.add(user)
    _token, secret = ApiToken.issue(user, "matrix")
    return Client(headers={"Authorization": f"{scheme} {secret}"})


def _join_group_holding(user, grant):
    group = Group.objects.create(name="act-members")
    grant.groups.add(group)
    user.groups.add(group)


@pytest.fixture(params=sorted(CALLERS))
def caller(request, catalogue, grant):
    """``(client, holds_grant)`` for every kind of caller, over the ``catalogue`` fixture."""
    holds, factory = CALLERS[request.param]
    if factory is None:
        with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({SECRET})):
            yield Client(), holds
    else:
        yield factory(grant), holds
