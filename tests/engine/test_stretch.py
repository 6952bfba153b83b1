"""Stretches against astropy.visualization's stretch classes; planck and reversed colour maps."""

import numpy as np
import pytest
from astropy.visualization import (
    AsinhStretch,
    HistEqStretch,
    LinearStretch,
    LogStretch,
    PowerStretch,
    SqrtStretch,
)

from maps.engine.colormap import (
    N_COLOURS,
    TRANSPARENT_INDEX,
    Normalisation,
    UnknownColourMapError,
    check_normalisation,
    colour_indices,
    lookup_table,
)
from maps.engine.stretch import LOG_STRETCH_A, apply_stretch, histeq_table

X = np.concatenate([np.linspace(-0.5, 1.5, 2001), [0.0, 1.0, 1e-6, 0.999999]])


@pytest.mark.parametrize(
    ("stretch", "parameters", "reference"),
    [
        ("linear", {}, LinearStretch()),
        ("sqrt", {}, SqrtStretch()),
        ("log", {}, LogStretch(a=LOG_STRETCH_A)),
        ("asinh", {"asinh_a": 0.1}, AsinhStretch(a=0.1)),
        ("asinh", {"asinh_a": 0.01}, AsinhStretch(a=0.01)),
        ("asinh", {"asinh_a": 3.0}, AsinhStretch(a=3.0)),
        ("power", {"gamma": 2.0}, PowerStretch(a=2.0)),
        ("power", {"gamma": 0.3}, PowerStretch(a=0.3)),
    ],
)
def test_stretches_match_astropy(stretch, parameters, reference):
    got = apply_stretch(X, stretch, **parameters)
    expected = reference(X.copy(), clip=True)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    assert got.dtype == np.float64
    single = apply_stretch(X.astype(np.float32), stretch, **parameters)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, expected, rtol=0, atol=1e-6)


def test_stretches_keep_nan_and_end_points():
    for stretch, parameters in [
        ("sqrt", {}),
        ("log", {}),
        ("asinh", {"asinh_a": 0.5}),
        ("power", {"gamma": 4.0}),
        ("histeq", {"histeq": ((0.0, 0.5, 1.0), (0.0, 0.9, 1.0))}),
    ]:
        got = apply_stretch(np.array([np.nan, 0.0, 1.0]), stretch, **parameters)
        assert np.isnan(got[0])
        assert got[1:].tolist() == [0.0, 1.0], stretch


def test_histogram_equalisation_matches_astropy_on_the_sample():
    rng = np.random.default_rng(3)
    sample = np.concatenate([rng.normal(0.0, 1.0, 200_000), rng.exponential(3.0, 50_000)])
    vmin, vmax = float(sample.min()), float(sample.max())
    edges = np.linspace(vmin, vmax, 2049)
    counts, _ = np.histogram(sample, bins=edges)
    table = histeq_table(edges, counts, vmin=vmin, vmax=vmax)
    reference = HistEqStretch(sample)
    x = np.linspace(0.0, 1.0, 501)
    # 2048 bins over the range: the curves agree within a bin's share of the counts.
    np.testing.assert_allclose(
        apply_stretch(x, "histeq", histeq=table), reference(x.copy()), atol=2e-3
    )


def test_histogram_equalisation_within_a_narrower_range():
    # Counts 1, 3 in bins 0..1, 1..2 and 100 outside: within 0.5..2 the
    # counts below are 0 at 0.5, 0.5 at 1, 3.5 at 2 (spread evenly in a bin).
    edges = np.array([0.0, 1.0, 2.0, 3.0])
    counts = np.array([1, 3, 100])
    xs, cdf = histeq_table(edges, counts, vmin=0.5, vmax=2.0)
    np.testing.assert_allclose(xs, [0.0, 1 / 3, 1.0])
    np.testing.assert_allclose(cdf, [0.0, 0.5 / 3.5, 1.0])
    assert histeq_table(edges, [0, 0, 0], vmin=0.5, vmax=2.0) == ((0.0, 1.0), (0.0, 1.0))
    log_xs, _ = histeq_table(edges, counts, vmin=0.5, vmax=2.0, log_norm=True)
    np.testing.assert_allclose(log_xs, [0.0, 0.5, 1.0])


@pytest.mark.parametrize(
    ("stretch", "reference"),
    [
        ("sqrt", SqrtStretch()),
        ("log", LogStretch()),
        ("asinh", AsinhStretch(a=0.1)),
        ("power", PowerStretch(a=2.5)),
    ],
)
def test_colour_indices_follow_the_stretch(stretch, reference):
    vmin, vmax = -20.0, 80.0
    values = np.linspace(-40.0, 100.0, 5001).astype(np.float32)
    norm = Normalisation(vmin=vmin, vmax=vmax, stretch=stretch, gamma=2.5)
    got = colour_indices(values, norm)
    t = reference((values.astype(np.float64) - vmin) / (vmax - vmin), clip=True)
    expected = np.clip(np.floor(t * N_COLOURS), 0, N_COLOURS - 1)
    # float32 arithmetic may land a value on the other side of a colour
    # boundary: at most one step, and rarely.
    difference = np.abs(got.astype(int) - expected.astype(int))
    assert difference.max() <= 1
    assert (difference > 0).mean() < 0.01
    with_nan = colour_indices(np.array([np.nan, vmax], dtype=np.float32), norm)
    assert with_nan.tolist() == [TRANSPARENT_INDEX, N_COLOURS - 1]


def test_stretch_after_abs_and_log_norm():
    values = np.array([-100.0, -10.0, 1.0, 10.0, 100.0, 0.0], dtype=np.float32)
    norm = Normalisation(vmin=1.0, vmax=100.0, log_norm=True, absolute=True, stretch="sqrt")
    # |v| on a log scale: t = 1, 0.5, 0, 0.5, 1, then sqrt; 0 has no logarithm.
    t = np.sqrt([1.0, 0.5, 0.0, 0.5, 1.0])
    expected = np.minimum(np.floor(t * N_COLOURS), N_COLOURS - 1).astype(int).tolist()
    assert colour_indices(values, norm).tolist() == [*expected, TRANSPARENT_INDEX]


def test_linear_stretch_is_the_unstretched_mapping():
    values = np.linspace(-2.0, 2.0, 10_001).astype(np.float32)
    plain = colour_indices(values, Normalisation(vmin=-1.0, vmax=1.0))
    for norm in (
        Normalisation(vmin=-1.0, vmax=1.0, stretch="linear"),
        Normalisation(vmin=-1.0, vmax=1.0, stretch="power", gamma=1.0),
    ):
        assert np.array_equal(colour_indices(values, norm), plain)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stretch": "cubic"}, "stretch must be one of"),
        ({"stretch": "power", "gamma": 0.0}, "gamma must be > 0"),
        ({"stretch": "power", "gamma": -1.0}, "gamma must be > 0"),
        ({"stretch": "asinh", "asinh_a": 0.0}, "asinh_a must be > 0"),
        ({"stretch": "asinh", "asinh_a": float("nan")}, "asinh_a must be > 0"),
        ({"stretch": "histeq"}, "needs the layer's histogram"),
    ],
)
def test_bad_stretches(options, message):
    with pytest.raises(ValueError, match=message):
        check_normalisation(Normalisation(vmin=0.0, vmax=1.0, **options))


# --- Colour maps -------------------------------------------------------------------


def test_planck_table():
    lut = lookup_table("planck")
    assert lut.shape == (N_COLOURS + 1, 4)
    # Dark blue, the cream middle, dark red; opaque; transparent no-data entry.
    assert lut[0].tolist() == [0, 0, 255, 255]
    assert lut[(N_COLOURS - 1) // 2].tolist() == [255, 237, 217, 255]
    assert lut[N_COLOURS - 1].tolist() == [100, 0, 0, 255]
    assert lut[TRANSPARENT_INDEX].tolist() == [0, 0, 0, 0]
    assert (lut[:N_COLOURS, 3] == 255).all()
    # Blue rises to cyan, then red takes over: no colour repeats end to end.
    assert len({tuple(colour) for colour in lut[:N_COLOURS].tolist()}) > 200


@pytest.mark.parametrize("name", ["planck", "viridis", "RdBu", "gray", "cividis"])
def test_reversed_maps_are_the_reverse(name):
    forward, backward = lookup_table(name), lookup_table(f"{name}_r")
    assert backward[TRANSPARENT_INDEX].tolist() == [0, 0, 0, 0]
    # matplotlib's own reverses are sampled by matplotlib: equal within rounding.
    difference = np.abs(backward[:N_COLOURS].astype(int) - forward[N_COLOURS - 1 :: -1])
    assert difference.max() <= (0 if name == "planck" else 1)


@pytest.mark.parametrize("name", ["planck_r_r", "_r", "nope_r", "Planck", "planck_R", ""])
def test_unknown_colour_maps(name):
    with pytest.raises(UnknownColourMapError, match=repr(name)):
        lookup_table(name)
