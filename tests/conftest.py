"""Shared fixtures: synthetic CAR maps written on demand into a temporary folder."""

import pytest

from tests.support.fits import write_car_map

pytest_plugins = ["tests.support.catalogue", "tests.support.image_layers"]


@pytest.fixture
def make_car_map(tmp_path):
    """Factory: ``make_car_map("name.fits", **options)`` writes a map (see ``write_car_map``)."""

    def make(name: str = "map.fits", **options):
        return write_car_map(tmp_path / name, **options)

    return make
