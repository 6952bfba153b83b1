"""A client walk as the TileViewer front end does it, from first load down to a tile."""

import io

import pytest
from django.contrib.auth.models import User
from PIL import Image

pytestmark = pytest.mark.django_db


def ids(entries, key):
    return [entry[key] for entry in entries]


def walk_to_layer(client, group_id, map_id, band_id, layer_id):
    """groups -> maps -> bands -> layers -> layer, each step listing the next."""
    assert group_id in ids(client.get("/map-groups").json(), "map_group_id")
    assert map_id in ids(client.get(f"/map-groups/{group_id}/maps").json(), "map_id")
    assert band_id in ids(client.get(f"/maps/{map_id}/bands").json(), "band_id")
    assert layer_id in ids(client.get(f"/bands/{band_id}/layers").json(), "layer_id")
    layer = client.get(f"/layers/{layer_id}").json()
    assert (layer["map_group_id"], layer["map_id"], layer["band_id"]) == (
        group_id,
        map_id,
        band_id,
    )
    return layer


def fetch_images(client, layer):
    """Histogram, colour bar and a level-0 tile over the map, as the viewer requests them."""
    histogram = client.get(f"/histograms/data/{layer['layer_id']}")
    assert histogram.status_code == 200
    body = histogram.json()
    assert set(body) == {"layer_id", "edges", "histogram", "vmin", "vmax"}
    assert (len(body["edges"]), len(body["histogram"])) == (129, 128)
    bar = client.get(f"/histograms/{layer['cmap']}.png")
    assert bar.status_code == 200
    assert Image.open(io.BytesIO(bar.content)).size == (256, 8)
    # Level 0: x = 1 spans RA 0..180, which the fixture map (RA -90..90) covers.
    tile = client.get(f"/layers/{layer['layer_id']}/0/0/1/tile.png")
    assert tile.status_code == 200
    assert tile["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(tile.content))
    assert image.size == (layer["tile_size"], layer["tile_size"])


def test_viewer_first_load_to_a_tile(catalogue, anonymous_client):
    client = anonymous_client
    default = client.get("/layers/default").json()
    layer = default["layer"]
    menu = default["default_layer_menu"]
    assert ids(menu, "map_group_id") == ["act-dr6", "planck"]
    walked = walk_to_layer(
        client, layer["map_group_id"], layer["map_id"], layer["band_id"], layer["layer_id"]
    )
    assert walked == layer
    fetch_images(client, walked)
    assert client.get("/sources").status_code == 200
    assert client.get("/highlights/boxes").status_code == 200


def test_walk_into_a_hidden_branch_needs_the_grant(catalogue, grant, client):
    path = ("so-private", "so-map", "so-f280", "so-f280-i")
    urls = [
        "/map-groups/so-private/maps",
        "/maps/so-map/bands",
        "/bands/so-f280/layers",
        "/layers/so-f280-i",
        "/histograms/data/so-f280-i",
        "/layers/so-f280-i/0/0/1/tile.png",
    ]
    holder = User.objects.create_user("walker")
    grant.users.add(holder)
    client.force_login(holder)
    fetch_images(client, walk_to_layer(client, *path))
    client.logout()
    for url in urls:
        hidden = client.get(url)
        never_existed = client.get(url.replace("so-", "gone-"))
        assert hidden.status_code == 404, url
        assert hidden.content == never_existed.content, url
