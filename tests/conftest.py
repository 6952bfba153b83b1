"""Shared fixtures: synthetic CAR maps written on demand into a temporary folder."""

import pytest

from maps.engine import file_identity
from tests.support.fits import write_car_map

pytest_plugins = ["tests.support.catalogue", "tests.support.image_layers"]


@pytest.fixture
def make_car_map(tmp_path):
    """Factory: ``make_car_map("name.fits", **options)`` writes a map (see ``write_car_map``)."""

    def make(name: str = "map.fits", **options):
        return write_car_map(tmp_path / name, **options)

    return make


@pytest.fixture(autouse=True)
def files_looked_at_every_time():
    """In-process tests rewrite a file and read it back at once: the readers look at
    each file on every use (``RECHECK_SECONDS`` is for servers, tested on its own
    and through the live servers, which keep it)."""
    tracker = file_identity.tracker
    tracker.forget()
    kept, tracker.recheck_seconds = tracker.recheck_seconds, 0.0
    # Announcing is a served process's (tilemaker_site.asgi), tested through servers.
    announce, tracker.on_new_version = tracker.on_new_version, None
    yield
    tracker.recheck_seconds, tracker.on_new_version = kept, announce
    tracker.forget()
