"""Helpers for config-import tests: small configs, malformed files, a hang guard."""

import contextlib
import json
import signal
from pathlib import Path

import pytest

from catalogs.models import Source, SourceGroup
from maps.models import Band, Grant, Layer, Map, MapGroup
from regions.models import Box

DATA = Path(__file__).parent / "data"
MODELS = (Grant, MapGroup, Map, Band, Layer, SourceGroup, Source, Box)


def layer_entry(layer_id: str, filename: str, **fields) -> dict:
    provider = {"provider_type": "fits", "filename": filename}
    for key in ("hdu", "index"):
        if key in fields:
            provider[key] = fields.pop(key)
    return {"layer_id": layer_id, "name": layer_id, "provider": provider, **fields}


def config_with_layers(*layers: dict, **top) -> dict:
    """One group > one map > one band holding ``layers``; ``top`` adds source_groups/boxes."""
    return {
        "map_groups": [
            {
                "map_group_id": "group",
                "name": "Group",
                "description": "",
                "maps": [
                    {
                        "map_id": "map",
                        "name": "Map",
                        "description": "",
                        "bands": [
                            {
                                "band_id": "band",
                                "name": "Band",
                                "description": "",
                                "layers": list(layers),
                            }
                        ],
                    }
                ],
            }
        ],
        **top,
    }


def write_json(path: Path, data) -> Path:
    path.write_text(json.dumps(data, indent=1))
    return path


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
