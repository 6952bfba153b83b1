"""P and the polarisation angle against independent computations, in both conventions.

Expected angles come from geometry (where a pixel lies, or the angle a field
was built with), never from the formula under test; the viewer's JavaScript
(``polarisation.js``) is run on the same inputs to show both sides agree.
"""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from maps.engine.derived import DerivedSpec, derived_values
from maps.engine.polarisation import (
    convention_from_header,
    debiased_intensity,
    polarisation_angle_deg,
    polarised_intensity,
)

REPO = Path(__file__).resolve().parents[2]
POLARISATION_JS = REPO / "frontend/static/frontend/js/polarisation.js"


def fold_deg(angle_deg):
    """An orientation in degrees folded into (-90, 90] (an E-vector has no head)."""
    folded = np.mod(np.asarray(angle_deg, dtype=np.float64) + 90.0, 180.0) - 90.0
    return np.where(folded <= -90.0, folded + 180.0, folded)


def assert_same_orientation(got_deg, expected_deg, atol_deg=1e-4):
    # Orientations 180 degrees apart are one: compare on the circle of 2 * angle.
    difference = fold_deg(np.asarray(got_deg, dtype=np.float64) - expected_deg)
    assert np.abs(difference).max() <= atol_deg
    assert np.all((np.asarray(got_deg) > -90.0) & (np.asarray(got_deg) <= 90.0))


@pytest.mark.parametrize("convention", ["IAU", "COSMO"])
@pytest.mark.parametrize("psi_deg", [-89.0, -60.0, -45.0, -10.0, 0.0, 17.5, 45.0, 72.0, 90.0])
def test_a_uniform_field_at_a_known_angle(psi_deg, convention):
    p_true = 3.0
    q = np.full((4, 5), p_true * np.cos(np.radians(2 * psi_deg)), dtype=np.float32)
    u_iau = np.full((4, 5), p_true * np.sin(np.radians(2 * psi_deg)), dtype=np.float32)
    u = -u_iau if convention == "COSMO" else u_iau
    angle = polarisation_angle_deg(q, u, convention=convention)
    assert angle.dtype == np.float32
    assert_same_orientation(angle, psi_deg)
    np.testing.assert_allclose(polarised_intensity(q, u), p_true, rtol=1e-6)


def test_the_two_conventions_mirror_the_angle():
    # U > 0, Q = 0: 45 degrees east of north in IAU, 45 degrees west in COSMO.
    q, u = np.array([0.0]), np.array([1.0])
    assert polarisation_angle_deg(q, u, convention="IAU")[0] == pytest.approx(45.0)
    assert polarisation_angle_deg(q, u, convention="COSMO")[0] == pytest.approx(-45.0)
    # Q < 0, U = 0 (either sign of zero): east-west, which is +90, never -90.
    for zero in (0.0, -0.0):
        for convention in ("IAU", "COSMO"):
            angle = polarisation_angle_deg(
                np.array([-1.0]), np.array([zero]), convention=convention
            )
            assert angle[0] == 90.0


def e_mode_ring(convention: str):
    """Q and U of a radial E-mode pattern around (RA 45, Dec -20) on a CAR grid, and the
    position angle of each pixel from the centre (north through east), from astropy's WCS."""
    header = fits.Header()
    for key, value in {
        "CTYPE1": "RA---CAR",
        "CTYPE2": "DEC--CAR",
        "CDELT1": -0.5,
        "CDELT2": 0.5,
        "CRVAL1": 0.0,
        "CRVAL2": 0.0,
        "CRPIX1": -89.5,
        "CRPIX2": 80.5,
    }.items():
        header[key] = value
    from astropy.wcs import WCS

    ny, nx = 40, 60
    columns, rows = np.meshgrid(np.arange(nx), np.arange(ny))
    ra_deg, dec_deg = WCS(header).wcs_pix2world(columns, rows, 0)
    centre_ra_deg, centre_dec_deg = float(np.median(ra_deg)), float(np.median(dec_deg))
    # East is increasing RA; offsets are small, so the flat-sky position angle is exact enough.
    east = (ra_deg - centre_ra_deg) * np.cos(np.radians(centre_dec_deg))
    north = dec_deg - centre_dec_deg
    position_angle_deg = np.degrees(np.arctan2(east, north))
    radius = np.hypot(east, north)
    amplitude = np.exp(-(radius**2) / 50.0)
    q = amplitude * np.cos(np.radians(2 * position_angle_deg))
    u_iau = amplitude * np.sin(np.radians(2 * position_angle_deg))
    u = -u_iau if convention == "COSMO" else u_iau
    keep = radius > 0.3  # the centre itself has no direction
    return q.astype(np.float32), u.astype(np.float32), position_angle_deg, amplitude, keep


@pytest.mark.parametrize("convention", ["IAU", "COSMO"])
def test_an_e_mode_ring_is_radial(convention):
    q, u, position_angle_deg, amplitude, keep = e_mode_ring(convention)
    angle = polarisation_angle_deg(q, u, convention=convention)
    assert_same_orientation(angle[keep], position_angle_deg[keep], atol_deg=1e-3)
    np.testing.assert_allclose(polarised_intensity(q, u), amplitude, rtol=1e-5, atol=1e-7)
    # Read in the other convention, the same Q and U turn the other way: not radial.
    other = "IAU" if convention == "COSMO" else "COSMO"
    wrong = polarisation_angle_deg(q, u, convention=other)
    assert_same_orientation(wrong[keep], -position_angle_deg[keep], atol_deg=1e-3)


def test_nan_is_no_data_and_zero_has_angle_zero():
    q = np.array([np.nan, 1.0, 0.0, np.inf], dtype=np.float32)
    u = np.array([1.0, np.nan, 0.0, 1.0], dtype=np.float32)
    angle = polarisation_angle_deg(q, u)
    p = polarised_intensity(q, u)
    assert np.isnan(angle[[0, 1, 3]]).all()
    assert angle[2] == 0.0
    assert np.isnan(p[[0, 1, 3]]).all()
    assert p[2] == 0.0


def test_debiasing_formulas():
    p = np.array([0.0, 0.5, 1.0, 2.0, 10.0, np.nan], dtype=np.float32)
    sigma = 1.0
    asymptotic = debiased_intensity(p, sigma=sigma, method="asymptotic")
    np.testing.assert_allclose(asymptotic[:5], [0.0, 0.0, 0.0, np.sqrt(3.0), np.sqrt(99.0)])
    mas = debiased_intensity(p, sigma=sigma, method="mas")
    expected = [0.0] + [x - (1 - np.exp(-(x**2))) / (2 * x) for x in (0.5, 1.0, 2.0, 10.0)]
    np.testing.assert_allclose(mas[:5], expected, rtol=1e-6)
    assert np.isnan(mas[5])
    assert np.isnan(asymptotic[5])
    # MAS tends to p / 2 near 0 and never goes negative.
    tiny = debiased_intensity(np.array([1e-3], dtype=np.float32), sigma=sigma, method="mas")
    assert tiny[0] == pytest.approx(5e-4, rel=1e-3)
    assert np.array_equal(debiased_intensity(p, sigma=0.0, method="mas"), p, equal_nan=True)
    with pytest.raises(ValueError, match="debias must be one of"):
        debiased_intensity(p, sigma=1.0, method="wardle")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("IAU", "IAU"), ("COSMO", "COSMO"), (" cosmo ", "COSMO"), ("HEALPIX", None), (None, None)],
)
def test_polcconv_from_the_header(value, expected):
    header = fits.Header()
    if value is not None:
        header["POLCCONV"] = value
    assert convention_from_header(header) == expected


def test_derived_values_match_numpy():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(30, 40)).astype(np.float32)
    b = rng.normal(size=(30, 40)).astype(np.float32)
    b[0, :5] = 0.0
    a[1, 1] = np.nan
    sa, sb = np.float32(2.5), np.float32(-0.5)
    with np.errstate(all="ignore"):
        expected = {
            "difference": sa * a - sb * b,
            "sum": sa * a + sb * b,
            "ratio": (sa * a) / (sb * b),
        }
    for op, values in expected.items():
        values[~np.isfinite(values)] = np.nan
        spec = DerivedSpec(op=op, scale_a=2.5, scale_b=-0.5)
        got = derived_values(spec, a.copy(), b.copy())
        assert np.array_equal(got, values, equal_nan=True), op
    ratio = derived_values(DerivedSpec(op="ratio"), a.copy(), b.copy())
    assert np.isnan(ratio[0, :5]).all()


def test_the_viewer_computes_the_same_angles_and_intensities():
    """polarisation.js and this module agree on P, debiased P and the angle, both conventions."""
    rng = np.random.default_rng(11)
    q = rng.normal(size=200).astype(np.float32)
    u = rng.normal(size=200).astype(np.float32)
    q[:4], u[:4] = [0.0, -1.0, 1.0, 0.0], [0.0, 0.0, 0.0, -1.0]
    module = json.dumps(POLARISATION_JS.as_uri())
    script = f"""
    import {{ polarisationAngleDeg, polarisedIntensity }} from {module};
    const q = {json.dumps(q.tolist())}, u = {json.dumps(u.tolist())};
    const out = {{}};
    for (const c of ["IAU", "COSMO"]) out[c] = q.map((v, i) => polarisationAngleDeg(v, u[i], c));
    out.p = q.map((v, i) => polarisedIntensity(v, u[i]));
    out.mas = q.map((v, i) => polarisedIntensity(v, u[i], {{ debias: "mas", sigma: 0.7 }}));
    out.asym = q.map((v, i) => polarisedIntensity(v, u[i], {{ debias: "asymptotic", sigma: 0.7 }}));
    console.log(JSON.stringify(out));
    """
    ran = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    js = json.loads(ran.stdout)
    for convention in ("IAU", "COSMO"):
        got = polarisation_angle_deg(q, u, convention=convention)
        np.testing.assert_allclose(got, js[convention], atol=1e-4)
    np.testing.assert_allclose(polarised_intensity(q, u), js["p"], rtol=1e-6)
    for method, key in (("mas", "mas"), ("asymptotic", "asym")):
        got = polarised_intensity(q, u, debias=method, sigma=0.7)
        np.testing.assert_allclose(got, js[key], rtol=1e-5, atol=1e-6)
