"""The admin's pages show hostile names, users and grants escaped (see tests/support/hostile.py)."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from catalogs.models import SourceGroup
from maps.models import Grant, Layer
from sky_regions.models import Box
from tests.support.hostile import create_hostile_sky, hostile

pytestmark = pytest.mark.django_db
User = get_user_model()
BOX_CORNERS = {
    "top_left_ra": 10.0,
    "top_left_dec": 5.0,
    "bottom_right_ra": 5.0,
    "bottom_right_dec": -5.0,
}


@pytest.fixture
def hostile_sky(make_car_map):
    create_hostile_sky(
        make_car_map("sky.fits", n_planes=2),
        source_ra_dec_deg=(1.0, 1.0),
        box_corners_deg=BOX_CORNERS,
    )


ADMIN_PAGES = [
    "/admin/maps/grant/",
    "/admin/maps/grant/{grant}/change/",
    "/admin/maps/mapgroup/",
    "/admin/maps/map/",
    "/admin/maps/band/",
    "/admin/maps/layer/",
    "/admin/maps/layer/{layer}/change/",
    "/admin/catalogs/sourcegroup/",
    "/admin/catalogs/sourcegroup/{catalogue}/change/",
    "/admin/catalogs/source/",
    "/admin/regions/box/",
    "/admin/regions/box/{box}/change/",
    "/admin/auth/user/{holder}/change/",
]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_admin_shows_hostile_text_escaped(hostile_sky, path):
    """The admin's own pages, and the grant pages built with ``format_html``."""
    holder = User.objects.create_user(hostile("user")[:150])
    grant = Grant.objects.get()
    grant.users.add(holder)
    objects = {
        "grant": grant,
        "layer": Layer.objects.get(),
        "catalogue": SourceGroup.objects.get(),
        "box": Box.objects.get(),
        "holder": holder,
    }
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-not-used"))
    response = client.get(path.format(**{name: obj.pk for name, obj in objects.items()}))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<img src=x" not in html
    assert "<script>window.__xss" not in html
    assert "&lt;img src=x onerror=" in html
