"""Saved regions over HTTP: visibility matrix, DS9/CRTF round trips, statistics, cut-outs,
caps and hostile input (always a 4xx with a JSON detail, never a 5xx)."""

import io
import math

import numpy as np
import pytest
from astropy.coordinates import angular_separation
from astropy.io import fits
from django.contrib.auth.models import Group
from django.test import override_settings
from rest_framework.test import APIClient

from sky_regions.models import Region
from tests.engine.brute import plane_values, plane_wcs
from tests.support.image_layers import make_layer

pytestmark = pytest.mark.django_db

CIRCLE = {"kind": "circle", "ra_deg": 40.1, "dec_deg": 10.2, "radius_deg": 2.0}


@pytest.fixture
def people(django_user_model):
    team = Group.objects.create(name="team")
    owner = django_user_model.objects.create_user("owner")
    member = django_user_model.objects.create_user("member")
    member.groups.add(team)
    owner.groups.add(team)
    other = django_user_model.objects.create_user("other")
    return {"owner": owner, "member": member, "other": other, "team": team}


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def saved(owner, *, group=None, public=False) -> Region:
    return Region.objects.create(
        owner=owner, shape="circle", params=CIRCLE, group=group, public=public
    )


@pytest.mark.parametrize(
    ("sharing", "sees"),
    [
        ("private", {"owner"}),
        ("group", {"owner", "member"}),
        ("public", {"owner", "member", "other", "anonymous"}),
    ],
)
def test_visibility_matrix(people, sharing, sees):
    region = saved(
        people["owner"],
        group=people["team"] if sharing == "group" else None,
        public=sharing == "public",
    )
    for who in ("owner", "member", "other", "anonymous"):
        client = client_for(people.get(who))
        one = client.get(f"/regions/{region.pk}")
        listed = [r["id"] for r in client.get("/regions").json()]
        exported = client.get("/regions/export?type=ds9")
        if who in sees:
            assert one.status_code == 200
            assert one.json()["region"] == CIRCLE
            assert listed == [region.pk]
            assert exported.status_code == 200
        else:
            missing = client.get("/regions/999999")
            assert one.status_code == missing.status_code == 404
            assert one.json() == missing.json() == {"detail": "No region with that id."}
            assert listed == []
            assert exported.status_code == 400


def test_only_the_owner_changes_or_deletes(people):
    region = saved(people["owner"], group=people["team"])
    member = client_for(people["member"])
    assert member.patch(f"/regions/{region.pk}", {"name": "x"}, format="json").status_code == 403
    assert member.delete(f"/regions/{region.pk}").status_code == 403
    other = client_for(people["other"])
    assert other.delete(f"/regions/{region.pk}").json() == {"detail": "No region with that id."}
    owner = client_for(people["owner"])
    refused = owner.patch(f"/regions/{region.pk}", {"public": True}, format="json")
    assert refused.status_code == 400
    assert "curator" in refused.json()["detail"]
    renamed = owner.patch(f"/regions/{region.pk}", {"name": "mine"}, format="json")
    assert renamed.json()["name"] == "mine"
    assert owner.delete(f"/regions/{region.pk}").status_code == 204
    assert not Region.objects.exists()


def test_anonymous_cannot_save_and_csrf_is_enforced(people):
    response = client_for().post("/regions", {"region": CIRCLE}, format="json")
    assert response.status_code == 403
    assert "detail" in response.json()
    csrf_client = APIClient(enforce_csrf_checks=True)
    csrf_client.force_login(people["owner"])
    refused = csrf_client.post("/regions", {"region": CIRCLE}, format="json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]


def test_import_from_a_browser_session_passes_the_csrf_check(people):
    """A logged-in browser posts the file as text/plain with its CSRF token."""
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(people["owner"])
    token = browser.get("/").cookies["csrftoken"].value
    response = browser.post(
        "/regions/import?type=ds9", DS9_FILE, content_type="text/plain", HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 201, response.content
    assert len(response.json()) == 7
    other_type = browser.post(
        "/regions/import", DS9_FILE, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert other_type.status_code == 415
    assert "detail" in other_type.json()


def test_create_from_ds9_string_converts_galactic_to_icrs(people):
    owner = client_for(people["owner"])
    response = owner.post(
        "/regions",
        {"name": "g", "region": "galactic; circle(0, 0, 1d)", "group": "team"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    # The Galactic centre in ICRS.
    assert body["region"]["ra_deg"] == pytest.approx(266.40498829, abs=1e-6)
    assert body["region"]["dec_deg"] == pytest.approx(-28.93617776, abs=1e-6)
    assert body["group"] == "team"
    assert body["ds9"].splitlines()[1:] == ["icrs", "circle(266.40498829,-28.93617776,1.00000000)"]
    not_member = owner.post("/regions", {"region": CIRCLE, "group": "staff"}, format="json")
    assert not_member.status_code == 400


DS9_FILE = """# Region file format: DS9 version 4.1
global color=green
fk5
circle(10:00:00.0,+20:00:00,30")
ellipse(150.5,2.2,20",10",30)
box(151.0,2.5,60",30",-15)
polygon(150.0,2.0,150.3,2.0,150.3,2.4,150.0,2.3)
annulus(150.2,2.1,10",20")
line(150.0,2.0,150.2,2.2)
point(150.1,2.05)
"""


@pytest.mark.parametrize("file_format", ["ds9", "crtf"])
def test_import_export_round_trip(people, file_format):
    owner = client_for(people["owner"])
    imported = owner.post("/regions/import?type=ds9", DS9_FILE, content_type="text/plain")
    assert imported.status_code == 201
    first = [region["region"] for region in imported.json()]
    assert [shape["kind"] for shape in first] == [
        "circle", "ellipse", "box", "polygon", "annulus", "line", "point",
    ]  # fmt: skip
    assert first[0]["ra_deg"] == pytest.approx(150.0, abs=1e-4)  # 10h, FK5 ~ ICRS
    # regions 0.12 writes CRTF points as "point", which its own CRTF reader
    # refuses: the CRTF round trip leaves points out.
    ids = [
        r["id"] for r in imported.json() if file_format == "ds9" or r["region"]["kind"] != "point"
    ]
    exported = owner.get(f"/regions/export?type={file_format}&ids={','.join(map(str, ids))}")
    assert exported.status_code == 200
    assert exported["Content-Disposition"].startswith("attachment")
    again = owner.post(
        f"/regions/import?type={file_format}", exported.content, content_type="text/plain"
    )
    assert again.status_code == 201
    expected = [shape for shape in first if file_format == "ds9" or shape["kind"] != "point"]
    for before, after in zip(expected, [r["region"] for r in again.json()], strict=True):
        assert before["kind"] == after["kind"]
        for key, value in before.items():
            if key != "kind":
                # DS9 writes 8 decimals; CRTF 6 and J2000 (read back as FK5).
                np.testing.assert_allclose(after[key], value, atol=2e-5)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"circle(1,2", "DS9"),
        (b"fk5\ncircle(1,2,3) # wrong\nimage\ncircle(1,2,3)", "pixel-coordinate"),
        (b"# nothing\n", "no region"),
        (b"\xff\xfe\x00", "UTF-8"),
        (b"fk5\ncircle(nan,2,3)", "finite"),
        (b"fk5\ncircle(1,95,3)", "not a valid DS9"),
        (b"fk5\ncircle(1,2,-3)", "positive"),
        (b"fk5\n" + b"circle(1,2,3)\n" * 6, "more than the limit of 5"),
        (b"fk5\npolygon(" + b",".join(b"%d,0" % i for i in range(8)) + b")", "at most 5"),
        (b"fk5\nfoo(1,2,3)", "DS9"),
        (b"#CRTFv0\ncircle[[1deg, 2deg], -3deg]", "CRTF"),
        (b"#CRTFv0\nrotbox[[1deg", "CRTF"),
    ],
)
def test_malformed_files_are_4xx(people, body, detail):
    owner = client_for(people["owner"])
    with override_settings(MAX_REGIONS_PER_FILE=5, MAX_POLYGON_VERTICES=5):
        response = owner.post("/regions/import", body, content_type="text/plain")
    assert response.status_code == 400, response.content
    assert detail in response.json()["detail"]
    assert not Region.objects.exists()


def test_file_size_cap(people):
    with override_settings(MAX_REGION_FILE_BYTES=100):
        response = client_for(people["owner"]).post(
            "/regions/import", "fk5\n" + "circle(1,2,3)\n" * 20, content_type="text/plain"
        )
    assert response.status_code == 400
    assert "more than the limit of 100" in response.json()["detail"]


# --- Statistics and cut-outs ------------------------------------------------------------


@pytest.fixture
def stokes_layers(db, make_car_map):
    path = make_car_map("iqu_region.fits", nx=720, ny=360, pixel_scale_deg=0.25,
                        ra_left_deg=90.0, dec_bottom_deg=-45.0, n_planes=3)  # fmt: skip
    for index, stokes in enumerate("IQU"):
        provider = {"provider_type": "fits", "filename": str(path), "index": index}
        make_layer(f"iqu-{stokes.lower()}", path, stokes=stokes, provider=provider)
    return path


def brute_circle(path, index, ra_deg, dec_deg, radius_deg):
    values = plane_values(path, index=index)
    rows, cols = np.mgrid[0 : values.shape[0], 0 : values.shape[1]]
    ra, dec = plane_wcs(path).pixel_to_world_values(cols.ravel(), rows.ravel())
    separation = angular_separation(
        np.radians(ra), np.radians(dec), math.radians(ra_deg), math.radians(dec_deg)
    )
    flat = values.ravel()
    return flat[(separation <= math.radians(radius_deg)) & np.isfinite(flat)].astype(np.float32)


def test_stats_on_every_stokes_plane_equal_brute_force(stokes_layers):
    response = client_for().post(
        "/regions/stats",
        {"layer_id": "iqu-q", "region": "icrs; circle(40.1, 10.2, 2d)",
         "background": {"inner_radius_deg": 3, "outer_radius_deg": 4}},
        format="json",
    )  # fmt: skip
    assert response.status_code == 200, response.content
    planes = response.json()["planes"]
    assert sorted(planes) == ["I", "Q", "U"]
    for index, stokes in enumerate("IQU"):
        expected = brute_circle(stokes_layers, index, 40.1, 10.2, 2.0).astype(np.float64)
        got = planes[stokes]
        assert got["layer_id"] == f"iqu-{stokes.lower()}"
        assert got["n_pixels"] == expected.size > 100
        assert got["sum"] == pytest.approx(expected.sum(), rel=1e-9)
        assert got["median"] == pytest.approx(np.median(expected), rel=1e-9)
        ring = (
            brute_circle(stokes_layers, index, 40.1, 10.2, 4.0).size
            - brute_circle(stokes_layers, index, 40.1, 10.2, 3.0).size
        )
        assert got["background"]["n_pixels"] == ring


def test_stats_by_saved_region_id_and_line_profile(people, stokes_layers):
    region = Region.objects.create(
        owner=people["owner"], shape="line",
        params={"kind": "line", "start_deg": [30.1, 0.1], "end_deg": [35.1, 2.1]},
    )  # fmt: skip
    owner = client_for(people["owner"])
    response = owner.post(
        "/regions/stats", {"layer_id": "iqu-i", "region_id": region.pk}, format="json"
    )
    assert response.status_code == 200
    profile = response.json()["planes"]["I"]["profile"]
    assert (
        len(profile["value"])
        == math.ceil(math.degrees(angular_separation(*np.radians([30.1, 0.1, 35.1, 2.1]))) / 0.25)
        + 1
    )
    other = client_for(people["other"])
    hidden = other.post(
        "/regions/stats", {"layer_id": "iqu-i", "region_id": region.pk}, format="json"
    )
    assert hidden.status_code == 404


def test_cutout_is_one_hdu_per_plane(stokes_layers):
    response = client_for().post(
        "/regions/cutout", {"layer_id": "iqu-i", "region": CIRCLE}, format="json"
    )
    assert response.status_code == 200
    with fits.open(io.BytesIO(response.content)) as hdus:
        assert [hdu.name for hdu in hdus[1:]] == ["I", "Q", "U"]
        for index, hdu in enumerate(hdus[1:]):
            assert hdu.header["LAYERID"] == f"iqu-{'iqu'[index]}"
            # Rows of Dec 8.2..12.2 at 0.25 deg: 16; every pixel equals the map's.
            assert hdu.data.shape[0] == 16
            values = plane_values(stokes_layers, index=index)
            row0 = round((8.2 + 45.0) / 0.25 - 0.5 + 0.5)
            assert np.isin(hdu.data[0], values[row0]).all()


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"layer_id": "iqu-i", "region": {"kind": "circle", "ra_deg": 40, "dec_deg": 10,
                                          "radius_deg": 30}}, 400, "more than the limit"),
        ({"layer_id": "iqu-i", "region": {"kind": "circle", "ra_deg": 40, "dec_deg": 80,
                                          "radius_deg": 1}}, 404, "region"),
        ({"layer_id": "nope", "region": CIRCLE}, 404, "No layer with that id."),
        ({"layer_id": "iqu-i"}, 400, "region"),
        ({"layer_id": 5, "region": CIRCLE}, 400, "layer_id"),
        ({"layer_id": "iqu-i", "region": 5}, 400, "DS9 string"),
        ({"layer_id": "iqu-i", "region": {"kind": "box"}}, 400, "ra_deg"),
        ({"layer_id": "iqu-i", "region": "circle(1,2"}, 400, "DS9"),
        ({"layer_id": "iqu-i", "region_id": "1"}, 400, "integer"),
        ({"layer_id": "iqu-i", "region": CIRCLE, "background": 3}, 400, "background"),
        ({"layer_id": "iqu-i", "region": {**CIRCLE, "kind": "ellipse", "width_deg": 1,
          "height_deg": 1}, "background": {"inner_radius_deg": 1, "outer_radius_deg": 2}},
         400, "circle region only"),
        ({"layer_id": "iqu-i", "region": CIRCLE,
          "background": {"inner_radius_deg": "x", "outer_radius_deg": 2}}, 400, "number"),
        ([1, 2], 400, "JSON object"),
    ],
)  # fmt: skip
def test_bad_stats_requests_are_4xx(stokes_layers, body, status, detail):
    with override_settings(MAX_REGION_PIXELS=20_000):
        response = client_for().post("/regions/stats", body, format="json")
    assert response.status_code == status, response.content
    assert detail in response.json()["detail"]


def test_hidden_layer_is_404(db, image_map):
    from maps.models import Grant

    make_layer("secret", image_map, grant=Grant.objects.create(name="g"))
    for url in ("/regions/stats", "/regions/cutout"):
        response = client_for().post(url, {"layer_id": "secret", "region": CIRCLE}, format="json")
        assert response.status_code == 404
        assert response.json() == {"detail": "No layer with that id."}
