"""Colour mapping against a scalar brute-force reference and matplotlib itself."""

import math

import matplotlib
import numpy as np
import pytest

from maps.engine.colormap import (
    LUT_SIZE,
    N_COLOURS,
    TRANSPARENT_INDEX,
    Normalisation,
    UnknownColourMapError,
    check_normalisation,
    colour_indices,
    colourise,
    lookup_table,
)


def reference_index(value, *, vmin, vmax, log_norm=False, absolute=False, clip=False) -> int:
    """One pixel, the slow obvious way (see the colormap module docstring)."""
    if math.isnan(value):
        return TRANSPARENT_INDEX
    if absolute:
        value = abs(value)
    if log_norm:
        if value <= 0:
            if not clip:
                return TRANSPARENT_INDEX
            value = vmin
        if value == math.inf:
            return N_COLOURS - 1
        t = (math.log10(value) - math.log10(vmin)) / (math.log10(vmax) - math.log10(vmin))
    else:
        if math.isinf(value):
            return 0 if value < 0 else N_COLOURS - 1
        t = (value - vmin) / (vmax - vmin)
    return min(max(math.floor(t * N_COLOURS), 0), N_COLOURS - 1)


def bin_centres(vmin, vmax, *, log_norm=False):
    """A value in the middle of every colour bin, so float32 rounding cannot change the bin."""
    t = (np.arange(N_COLOURS) + 0.5) / N_COLOURS
    if log_norm:
        return 10 ** (np.log10(vmin) + t * (np.log10(vmax) - np.log10(vmin)))
    return vmin + t * (vmax - vmin)


SPECIALS = [np.nan, np.inf, -np.inf, 0.0, -1.0, -1e30, 1e30, -500.0, 500.0, 1e-3]


@pytest.mark.parametrize(
    "options",
    [
        {"vmin": -100.0, "vmax": 300.0},
        {"vmin": -100.0, "vmax": 300.0, "clip": True},
        {"vmin": 10.0, "vmax": 300.0, "absolute": True},
        {"vmin": 0.5, "vmax": 2000.0, "log_norm": True},
        {"vmin": 0.5, "vmax": 2000.0, "log_norm": True, "clip": True},
        {"vmin": 0.5, "vmax": 2000.0, "log_norm": True, "absolute": True},
        {"vmin": 1e-6, "vmax": 1e-5},
    ],
)
def test_indices_match_scalar_reference(options):
    centres = bin_centres(options["vmin"], options["vmax"], log_norm=options.get("log_norm", False))
    mirrored = -centres if options.get("absolute") else centres[::-1]
    values = np.concatenate([centres, mirrored, np.array(SPECIALS)]).astype(np.float32)
    got = colour_indices(values.reshape(2, -1), Normalisation(**options)).ravel()
    expected = [reference_index(float(v), **options) for v in values]
    assert got.dtype == np.uint8
    assert got.tolist() == expected


def test_every_bin_is_reached_in_order():
    values = bin_centres(-1.0, 1.0).astype(np.float32)
    assert colour_indices(values, Normalisation(vmin=-1, vmax=1)).tolist() == list(range(N_COLOURS))


@pytest.mark.parametrize("clip", [False, True])
def test_out_of_range_saturates_at_the_ends_in_linear_norm(clip):
    norm = Normalisation(vmin=0.0, vmax=1.0, clip=clip)
    got = colour_indices(np.array([-5.0, 0.0, 1.0, 7.0], dtype=np.float32), norm)
    assert got.tolist() == [0, 0, N_COLOURS - 1, N_COLOURS - 1]


@pytest.mark.parametrize(("clip", "expected"), [(False, TRANSPARENT_INDEX), (True, 0)])
def test_log_norm_non_positive_values_depend_on_clip(clip, expected):
    norm = Normalisation(vmin=1.0, vmax=100.0, log_norm=True, clip=clip)
    got = colour_indices(np.array([-3.0, 0.0], dtype=np.float32), norm)
    assert got.tolist() == [expected, expected]


def test_mirrored_view_and_float64_input_and_no_mutation():
    rng = np.random.default_rng(1)
    data = rng.normal(0, 50, (40, 30))
    data[3, 4] = np.nan
    before = data.copy()
    norm = Normalisation(vmin=-60.0, vmax=80.0, absolute=True)
    mirrored = colour_indices(data[:, ::-1], norm)
    assert mirrored.flags.c_contiguous
    assert np.array_equal(mirrored, colour_indices(data, norm)[:, ::-1])
    assert np.array_equal(data, before, equal_nan=True)


@pytest.mark.parametrize("name", ["viridis", "RdBu_r", "gray", "tab10", "twilight", "cividis"])
def test_lookup_table_samples_the_matplotlib_map(name):
    lut = lookup_table(name)
    assert lut.shape == (LUT_SIZE, 4)
    assert lut.dtype == np.uint8
    assert not lut.flags.writeable
    assert lookup_table(name) is lut
    expected = np.round(
        np.array([matplotlib.colormaps[name](k / (N_COLOURS - 1)) for k in range(N_COLOURS)]) * 255
    )
    assert np.abs(lut[:N_COLOURS].astype(int) - expected).max() <= 1
    assert lut[TRANSPARENT_INDEX].tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("name", ["not_a_map", "", "viridis ", "VIRIDIS_R", None, 3])
def test_unknown_colour_map(name):
    with pytest.raises(UnknownColourMapError, match="unknown colour map"):
        lookup_table(name)


def test_colourise_is_close_to_matplotlib_continuous_mapping():
    values = np.linspace(-120, 120, 1001).astype(np.float32)
    rgba = colourise(values, Normalisation(vmin=-100.0, vmax=100.0), cmap="RdBu_r")
    continuous = matplotlib.colormaps["RdBu_r"](np.clip((values + 100) / 200, 0, 1), bytes=True)
    lut = lookup_table("RdBu_r").astype(int)
    one_step = np.abs(np.diff(lut[:N_COLOURS], axis=0)).max()
    assert np.abs(rgba.astype(int) - continuous.astype(int)).max() <= one_step


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"vmin": 1.0, "vmax": 1.0}, "must be less than"),
        ({"vmin": 2.0, "vmax": 1.0}, "must be less than"),
        ({"vmin": 0.0, "vmax": 1.0, "log_norm": True}, "log_norm needs vmin > 0"),
        ({"vmin": -1.0, "vmax": 1.0, "log_norm": True}, "log_norm needs vmin > 0"),
        ({"vmin": float("nan"), "vmax": 1.0}, "must be finite"),
        ({"vmin": 0.0, "vmax": float("inf")}, "must be finite"),
    ],
)
def test_bad_normalisations(options, message):
    with pytest.raises(ValueError, match=message):
        check_normalisation(Normalisation(**options))
    with pytest.raises(ValueError, match=message):
        colour_indices(np.zeros(3, dtype=np.float32), Normalisation(**options))
