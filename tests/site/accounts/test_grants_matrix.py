"""Who sees what: every caller kind x every endpoint x every level of the hierarchy.

Expectations are worked out by brute force from ``CATALOGUE`` (the same
tree as data), never from ``maps.grants``. A hidden object must answer
byte for byte what an id that never existed answers.
"""

import pytest

from catalogs.models import SourceGroup
from maps.models import Layer, MapGroup
from sky_regions.models import Box
from tests.support.catalogue import BOXES, CATALOGUE, SECRET, SOURCE_GROUPS, walk

pytestmark = pytest.mark.django_db

ID_FIELDS = ("map_group_id", "map_id", "band_id", "layer_id")
CHILDREN_KEYS = ("maps", "bands", "layers")
CHILDREN_URLS = ("/map-groups/{}/maps", "/maps/{}/bands", "/bands/{}/layers")


def visible_nodes(holds: bool, nodes=CATALOGUE):
    """The tree a caller may see: a restricted node hides itself and its subtree."""
    return [node for node in nodes if holds or not node.restricted]


def summary(node, depth):
    return {
        ID_FIELDS[depth]: node.public_id,
        "name": node.name,
        "description": f"About {node.name}",
        "grant": SECRET if node.restricted else None,
    }


def menu(nodes, depth, holds, expand=()):
    """Menu entries for ``nodes``; children filled in for every node (or only along ``expand``)."""
    entries = []
    for node in visible_nodes(holds, nodes):
        entry = summary(node, depth)
        if depth < 3:
            open_ = expand is None or (expand and node.public_id == expand[0])
            rest = None if expand is None else expand[1:]
            entry[CHILDREN_KEYS[depth]] = (
                menu(node.children, depth + 1, holds, rest) if open_ else []
            )
        entries.append(entry)
    return entries


def not_found_body(client, template):
    response = client.get(template.format("never-existed"))
    assert response.status_code == 404
    return response.content


def test_map_groups_list(caller):
    client, holds = caller
    expected = [summary(node, 0) for node in visible_nodes(holds)]
    assert client.get("/map-groups").json() == expected


@pytest.mark.parametrize("depth", [0, 1, 2], ids=["group-maps", "map-bands", "band-layers"])
def test_children_of_every_node(caller, depth):
    client, holds = caller
    template = CHILDREN_URLS[depth]
    missing = not_found_body(client, template)
    checked = 0
    for node_depth, node, hidden, _path in walk():
        if node_depth != depth:
            continue
        response = client.get(template.format(node.public_id))
        if hidden and not holds:
            assert (response.status_code, response.content) == (404, missing), node.public_id
        else:
            assert response.status_code == 200, node.public_id
            expected = [summary(child, depth + 1) for child in visible_nodes(holds, node.children)]
            assert response.json() == expected, node.public_id
        checked += 1
    assert checked >= 2


def test_every_layer_by_id(caller):
    client, holds = caller
    missing = not_found_body(client, "/layers/{}")
    for depth, node, hidden, path in walk():
        if depth != 3:
            continue
        response = client.get(f"/layers/{node.public_id}")
        if hidden and not holds:
            assert (response.status_code, response.content) == (404, missing), node.public_id
        else:
            body = response.json()
            assert body["layer_id"] == node.public_id
            assert (body["map_group_id"], body["map_id"], body["band_id"]) == path


# (name, layers moved to the front of their band, groups given the grant,
#  default layer id for a holder, for everyone else)
DEFAULT_SCENARIOS = [
    ("as-built", (), (), "coadd-f090-i", "coadd-f090-i"),
    ("hidden-layer-first", ("coadd-f090-q",), (), "coadd-f090-q", "coadd-f090-i"),
    ("first-group-hidden", ("coadd-f090-q",), ("act-dr6",), "coadd-f090-q", "pr3-f353-i"),
    ("all-hidden", (), ("act-dr6", "planck"), "coadd-f090-i", None),
]


@pytest.mark.parametrize(
    ("moved", "restricted_groups", "for_holder", "for_others"),
    [scenario[1:] for scenario in DEFAULT_SCENARIOS],
    ids=[scenario[0] for scenario in DEFAULT_SCENARIOS],
)
def test_default_layer_and_menu(
    caller, grant, monkeypatch, moved, restricted_groups, for_holder, for_others
):
    client, holds = caller
    Layer.objects.filter(layer_id__in=moved).update(position=0)
    MapGroup.objects.filter(map_group_id__in=restricted_groups).update(grant=grant)
    catalogue = _reshaped_catalogue(moved, restricted_groups)
    monkeypatch.setattr("tests.site.accounts.test_grants_matrix.CATALOGUE", catalogue)

    expected_id = for_holder if holds else for_others
    body = client.get("/layers/default").json()
    if expected_id is None:
        assert body == {"layer": None, "default_layer_menu": []}
        return
    path = next(path for depth, node, _h, path in walk(catalogue) if node.public_id == expected_id)
    assert body["layer"]["layer_id"] == expected_id
    assert (body["layer"]["map_group_id"], body["layer"]["map_id"], body["layer"]["band_id"]) == (
        path
    )
    assert body["default_layer_menu"] == menu(catalogue, 0, holds, expand=path)


def _reshaped_catalogue(moved, restricted_groups):
    """``CATALOGUE`` with ``moved`` layers first in their band and ``restricted_groups`` granted."""
    import copy

    catalogue = copy.deepcopy(CATALOGUE)
    for depth, node, _hidden, _path in walk(catalogue):
        if depth == 0 and node.public_id in restricted_groups:
            node.restricted = True
        if depth == 2:
            node.children.sort(key=lambda layer: layer.public_id not in moved)
    return catalogue


def brute_force_search(holds, query):
    """Independent reference for /search over the visible tree."""
    needle = query.lower()
    matched = []

    def keep(nodes, depth):
        kept = []
        for node in visible_nodes(holds, nodes):
            if needle in node.name.lower():
                matched.append(node.public_id)
                kept.append(menu([node], depth, holds, expand=None)[0])
            elif depth < 3:
                children = keep(node.children, depth + 1)
                if children:
                    kept.append({**summary(node, depth), CHILDREN_KEYS[depth]: children})
        return kept

    return {"filtered_layer_menu": keep(CATALOGUE, 0), "matched_ids": matched}


@pytest.mark.parametrize("query", ["i", "SECRET", "f150", "I150", "night", "so ", "f", "zzz"])
def test_search_sees_only_what_the_caller_may(caller, query):
    client, holds = caller
    response = client.get("/search", {"q": query})
    expected = brute_force_search(holds, query.strip())
    assert response.json() == expected


def test_source_groups(caller):
    client, holds = caller
    visible = [gid for gid, spec in SOURCE_GROUPS.items() if holds or not spec["restricted"]]
    assert [g["source_group_id"] for g in client.get("/sources").json()] == visible
    missing = not_found_body(client, "/sources/{}")
    for group_id, spec in SOURCE_GROUPS.items():
        response = client.get(f"/sources/{group_id}")
        if group_id in visible:
            assert len(response.json()["sources"]) == len(spec["sources"])
        else:
            assert (response.status_code, response.content) == (404, missing)


def test_boxes(caller):
    client, holds = caller
    expected = [name for name, (restricted, _c) in BOXES.items() if holds or not restricted]
    assert [box["name"] for box in client.get("/highlights/boxes").json()] == expected


def test_grant_held_by_nobody_hides_from_everyone(caller, grant):
    from maps.models import Grant

    client, _holds = caller
    other = Grant.objects.create(name="nobody-holds-this")
    MapGroup.objects.filter(map_group_id="planck").update(grant=other)
    SourceGroup.objects.filter(source_group_id="bright").update(grant=other)
    Box.objects.filter(name="Cluster box").update(grant=other)
    assert "planck" not in [g["map_group_id"] for g in client.get("/map-groups").json()]
    assert client.get("/layers/pr3-f353-i").status_code == 404
    assert client.get("/sources/bright").status_code == 404
    assert "Cluster box" not in [b["name"] for b in client.get("/highlights/boxes").json()]


def test_inactive_user_holds_no_grant(catalogue, grant, client):
    from django.contrib.auth.models import User

    user = User.objects.create_user("left-the-collaboration")
    grant.users.add(user)
    client.force_login(user)
    assert client.get("/layers/coadd-f090-q").status_code == 200
    User.objects.filter(pk=user.pk).update(is_active=False)
    # An inactive account's session no longer authenticates at all.
    assert client.get("/layers/coadd-f090-q").status_code == 404


def test_mock_grants_count_only_in_mock_mode(catalogue, anonymous_client, settings):
    settings.MOCK_GRANTS = frozenset({SECRET})
    settings.AUTH_TYPE = "mock"
    assert anonymous_client.get("/layers/coadd-f090-q").status_code == 200
    settings.AUTH_TYPE = "github"
    assert anonymous_client.get("/layers/coadd-f090-q").status_code == 404
