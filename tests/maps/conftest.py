"""Helpers for config-import tests: database snapshots, malformed files, a hang guard."""

import contextlib
import signal
from pathlib import Path

import pytest

from catalogs.models import Source, SourceGroup
from maps.models import Band, Grant, Layer, Map, MapGroup
from sky_regions.models import Box

DATA = Path(__file__).parent / "data"
MODELS = (Grant, MapGroup, Map, Band, Layer, SourceGroup, Source, Box)


def snapshot() -> dict:
    """Every row of every catalogue table, as plain values: equal snapshots mean an unchanged DB.

    Source primary keys are left out: a re-import replaces a group's sources.
    """
    return {
        model.__name__: sorted(
            tuple(sorted((k, repr(v)) for k, v in row.items() if model is not Source or k != "id"))
            for row in model.objects.values()
        )
        for model in MODELS
    }


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


class TookTooLong(Exception):
    pass


@contextlib.contextmanager
def deadline(seconds: float):
    """Fail instead of hanging: a FIFO or /dev/zero must be refused, not read."""

    def expire(signum, frame):
        raise TookTooLong(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def small_map(make_car_map):
    """A 2-D 1-degree map of the region RA 10..-10, Dec -5..5 (tile grid: 180 px, 1 level)."""
    return make_car_map(
        "small.fits", nx=20, ny=10, pixel_scale_deg=1.0, ra_left_deg=10.0, dec_bottom_deg=-5.0
    )


@pytest.fixture
def iqu_map(make_car_map):
    return make_car_map(
        "iqu.fits",
        nx=20,
        ny=10,
        pixel_scale_deg=1.0,
        ra_left_deg=10.0,
        dec_bottom_deg=-5.0,
        n_planes=3,
    )
