"""Polarised intensity and polarisation angle from Stokes Q and U (element-wise, numpy).

The same formulas and conventions as the viewer's
``frontend/static/frontend/js/polarisation.js``, so a P or angle tile from the
server equals what the viewer computes from the Q and U data tiles.

Angle convention. The angle is always the position angle of the polarisation
(E-vector) from north through east (IAU 1974; Hamaker & Bregman 1996, A&AS
117, 161): ``psi = 0.5 * atan2(U_IAU, Q)``, in degrees within (-90, 90]. Q and
U come in one of two conventions, named by the FITS keyword ``POLCCONV``
(HEALPix primer, "Relation with IAU convention"): ``"IAU"`` or ``"COSMO"``
(HEALPix / WMAP / Planck). They differ only by the sign of U (``U_COSMO =
-U_IAU``), so for COSMO data ``psi = 0.5 * atan2(-U, Q)``. In a CAR map local
north is up everywhere, so no per-pixel rotation is needed.

Debiasing. ``"asymptotic"`` is ``sqrt(max(p^2 - sigma^2, 0))`` (Wardle &
Kronberg 1974); ``"mas"`` the Modified ASymptotic estimator of Plaszczynski
et al. (2014, MNRAS 439, 4048), ``p - sigma^2 (1 - exp(-p^2 / sigma^2)) / (2
p)``, with ``sigma`` the noise of Q and of U (equal, uncorrelated). The viewer
measured MAS to have the smaller RMS error at every S/N from 0.5 to 5 and a
continuous output (``bench/bench_debias.mjs``), so it is the one ``debias``
without a method means there.
"""

import numpy as np

CONVENTIONS = ("IAU", "COSMO")
DEFAULT_CONVENTION = "IAU"
DEBIAS_METHODS = ("none", "asymptotic", "mas")


def check_convention(convention: object) -> str:
    """``convention`` if it is ``"IAU"`` or ``"COSMO"``; ``ValueError`` otherwise."""
    if convention not in CONVENTIONS:
        raise ValueError(f"polarisation convention must be IAU or COSMO, not {convention!r}")
    return convention


def convention_from_header(header) -> str | None:
    """The ``POLCCONV`` of a FITS header as ``"IAU"`` or ``"COSMO"``; None when absent or other.

    Parameters
    ----------
    header : mapping
        A FITS header (``astropy.io.fits.Header`` or any mapping).

    Returns
    -------
    str or None
        The convention, case and surrounding blanks ignored; None for a
        missing keyword or a value that names neither convention (the caller
        then uses its configured default).
    """
    value = header.get("POLCCONV") if header is not None else None
    if not isinstance(value, str):
        return None
    value = value.strip().upper()
    return value if value in CONVENTIONS else None


def debiased_intensity(p: np.ndarray, *, sigma: float, method: str) -> np.ndarray:
    """Debias measured polarised intensities ``p`` (>= 0) for a noise ``sigma`` of Q and U.

    Parameters
    ----------
    p : ndarray
        Measured ``sqrt(Q^2 + U^2)``; NaN stays NaN.
    sigma : float
        Noise of Q and of U, >= 0 (0 leaves ``p`` unchanged).
    method : str
        ``"none"``, ``"asymptotic"`` or ``"mas"`` (see the module docstring).

    Returns
    -------
    ndarray
        float32, never negative; ``"mas"`` gives 0 at ``p = 0``.
    """
    if method not in DEBIAS_METHODS:
        raise ValueError(f"debias must be one of {', '.join(DEBIAS_METHODS)}, not {method!r}")
    if not (sigma >= 0 and np.isfinite(sigma)):
        raise ValueError(f"debiasing needs a finite noise sigma >= 0, not {sigma!r}")
    p = np.asarray(p, dtype=np.float32)
    if method == "none" or sigma == 0:
        return p
    s2 = np.float64(sigma) ** 2
    p64 = p.astype(np.float64)
    with np.errstate(all="ignore"):
        if method == "asymptotic":
            result = np.sqrt(np.maximum(p64 * p64 - s2, 0.0))
        else:
            result = p64 - s2 * (1.0 - np.exp(-(p64 * p64) / s2)) / (2.0 * p64)
            result = np.where(p64 == 0, 0.0, result)
    return result.astype(np.float32)


def polarised_intensity(
    q: np.ndarray, u: np.ndarray, *, debias: str = "none", sigma: float = 0.0
) -> np.ndarray:
    """``P = sqrt(Q^2 + U^2)``, optionally debiased (float32, NaN where Q or U is not finite).

    Parameters
    ----------
    q, u : ndarray
        Stokes Q and U on one grid, in one unit (P has it too).
    debias : str
        ``"none"`` (default), ``"asymptotic"`` or ``"mas"``.
    sigma : float
        Noise of Q and of U for debiasing.
    """
    with np.errstate(all="ignore"):
        p = np.hypot(np.asarray(q, dtype=np.float32), np.asarray(u, dtype=np.float32))
    p = debiased_intensity(p, sigma=sigma, method=debias)
    p[~np.isfinite(p)] = np.nan
    return p


def polarisation_angle_deg(
    q: np.ndarray, u: np.ndarray, *, convention: str = DEFAULT_CONVENTION
) -> np.ndarray:
    """Position angle of the polarisation from north through east, degrees in (-90, 90].

    Parameters
    ----------
    q, u : ndarray
        Stokes Q and U on one grid.
    convention : str
        The convention of Q and U, ``"IAU"`` or ``"COSMO"`` (U's sign flipped).

    Returns
    -------
    ndarray
        float32; NaN where Q or U is not finite, 0 where Q = U = 0 (undefined).
    """
    check_convention(convention)
    q64 = np.asarray(q, dtype=np.float64)
    u64 = np.asarray(u, dtype=np.float64)
    u_iau = -u64 if convention == "COSMO" else u64
    with np.errstate(all="ignore"):
        angle = np.degrees(0.5 * np.arctan2(u_iau, q64))
    # atan2 gives (-180, 180], so half of it is (-90, 90] except -90 itself
    # (atan2 of -0.0 and a negative Q): fold it onto +90 as the viewer does.
    angle = np.where(angle <= -90.0, angle + 180.0, angle).astype(np.float32)
    angle[~(np.isfinite(q64) & np.isfinite(u64))] = np.nan
    return angle
