"""/search: case-insensitive substring on names at every level; a match keeps its subtree.

As an anonymous caller the catalogue fixture shows::

    act-dr6 "ACT DR6" > act-coadd "ACT coadd" > coadd-f090 "f090" > "I", "U"
    planck "Planck" > planck-pr3 "Planck PR3" > pr3-f353 "f353" > "I353"
"""

import pytest

pytestmark = pytest.mark.django_db

COADD_BAND = {"coadd-f090": ["coadd-f090-i", "coadd-f090-u"]}
PLANCK_BAND = {"pr3-f353": ["pr3-f353-i"]}
ACT = {"act-dr6": {"act-coadd": COADD_BAND}}
PLANCK = {"planck": {"planck-pr3": PLANCK_BAND}}

CASES = [
    ("f090", ["coadd-f090"], ACT),
    ("F090", ["coadd-f090"], ACT),
    ("  f090 ", ["coadd-f090"], ACT),
    # A matching group keeps everything under it and is the only match reported.
    ("planck", ["planck"], PLANCK),
    ("pr3", ["planck-pr3"], PLANCK),
    ("act", ["act-dr6"], ACT),
    # A matching band keeps all its layers, even those that match too.
    ("353", ["pr3-f353"], PLANCK),
    # Layers match one by one; non-matching siblings drop out.
    (
        "i",
        ["coadd-f090-i", "pr3-f353-i"],
        {
            "act-dr6": {"act-coadd": {"coadd-f090": ["coadd-f090-i"]}},
            "planck": {"planck-pr3": {"pr3-f353": ["pr3-f353-i"]}},
        },
    ),
    ("u", ["coadd-f090-u"], {"act-dr6": {"act-coadd": {"coadd-f090": ["coadd-f090-u"]}}}),
    # Hidden names never match for this caller.
    ("secret", [], {}),
    ("f150", [], {}),
    ("night", [], {}),
    # Plain substrings: no wildcards, no regular expressions.
    ("%", [], {}),
    ("_", [], {}),
    (".*", [], {}),
    ("zzz", [], {}),
]


def id_tree(entries, depth=0):
    """The menu reduced to ids: nested dicts, with lists of layer ids at the bottom."""
    id_field, children_key = [
        ("map_group_id", "maps"),
        ("map_id", "bands"),
        ("band_id", "layers"),
    ][depth]
    if depth == 2:
        return {e[id_field]: [layer["layer_id"] for layer in e[children_key]] for e in entries}
    return {e[id_field]: id_tree(e[children_key], depth + 1) for e in entries}


@pytest.mark.parametrize(("query", "matched", "tree"), CASES)
def test_search(catalogue, anonymous_client, query, matched, tree):
    response = anonymous_client.get("/search", {"q": query})
    assert response.status_code == 200
    body = response.json()
    assert body["matched_ids"] == matched
    assert id_tree(body["filtered_layer_menu"]) == tree


def test_search_entries_are_complete_menu_entries(catalogue, anonymous_client):
    body = anonymous_client.get("/search", {"q": "I353"}).json()
    assert body["filtered_layer_menu"] == [
        {
            "map_group_id": "planck",
            "name": "Planck",
            "description": "About Planck",
            "grant": None,
            "maps": [
                {
                    "map_id": "planck-pr3",
                    "name": "Planck PR3",
                    "description": "About Planck PR3",
                    "grant": None,
                    "bands": [
                        {
                            "band_id": "pr3-f353",
                            "name": "f353",
                            "description": "About f353",
                            "grant": None,
                            "layers": [
                                {
                                    "layer_id": "pr3-f353-i",
                                    "name": "I353",
                                    "description": "About I353",
                                    "grant": None,
                                }
                            ],
                        }
                    ],
                }
            ],
        }
    ]


def test_search_matches_non_ascii_names_case_insensitively(catalogue, anonymous_client):
    from maps.models import Layer

    Layer.objects.filter(layer_id="coadd-f090-u").update(name="Straße ÜBER")
    body = anonymous_client.get("/search", {"q": "über"}).json()
    assert body["matched_ids"] == ["coadd-f090-u"]


def test_rows_written_between_the_menu_queries_are_left_out(
    catalogue, anonymous_client, monkeypatch
):
    from maps import serializers
    from maps.models import MapGroup

    real_rows = serializers._menu_rows

    def planck_group_not_there_yet(model, user, id_field, *columns, **filters):
        rows = real_rows(model, user, id_field, *columns, **filters)
        return rows.exclude(map_group_id="planck") if model is MapGroup else rows

    monkeypatch.setattr(serializers, "_menu_rows", planck_group_not_there_yet)
    response = anonymous_client.get("/search", {"q": "f"})
    assert response.status_code == 200
    assert id_tree(response.json()["filtered_layer_menu"]) == ACT
