"""Colour mapping: float pixels to indices into a 256-entry RGBA look-up table.

Any matplotlib colour map name works (``matplotlib.colormaps``, never
pyplot), plus ``planck`` (``PLANCK_ANCHORS``) and the reverse ``<name>_r``
of every map (matplotlib has its own maps' reverses; ours are built by
reversing the table). The table holds ``N_COLOURS`` = 255 colours sampled evenly along
the map, plus one fully transparent entry at ``TRANSPARENT_INDEX`` for
pixels without data: 256 entries in all, which is exactly what an 8-bit
palette PNG can carry, so a tile is encoded straight from the index array.

Normalisation follows the original TileMaker (matplotlib's ``Normalize`` /
``LogNorm`` with their ``clip`` argument):

- values below ``vmin`` get the first colour and values above ``vmax`` the
  last, whether or not ``clip`` is set (matplotlib's default under/over
  colours are the end colours, so the original draws the same);
- with ``log_norm``, values <= 0 have no logarithm: they are transparent
  like NaN when ``clip`` is false, and get the first colour when ``clip`` is
  true (clipping happens before the logarithm, as in ``LogNorm``);
- ``absolute`` takes ``|value|`` before anything else;
- NaN is always transparent; +/-inf saturate like any out-of-range value;
- a stretch (``maps.engine.stretch``) then moves the normalised value
  along the colour map; ``linear`` leaves it where it is.
"""

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from maps.engine.errors import EngineError
from maps.engine.stretch import DEFAULT_ASINH_A, DEFAULT_GAMMA, apply_stretch, check_stretch

N_COLOURS = 255
TRANSPARENT_INDEX = N_COLOURS
LUT_SIZE = N_COLOURS + 1
REVERSED_SUFFIX = "_r"

# The Planck CMB colour table (Planck 2013 results I, the "parchment" maps
# of the CMB): position along the map, then RGB. Dark blue through light
# blue to the cream middle, then orange and red to dark brown-red. Written
# here as anchor colours of the published table and interpolated linearly
# in RGB to N_COLOURS entries.
PLANCK_ANCHORS = (
    (0.000, (0, 0, 255)),
    (0.332, (0, 215, 255)),
    (0.500, (255, 237, 217)),
    (0.664, (255, 180, 0)),
    (0.828, (255, 75, 0)),
    (1.000, (100, 0, 0)),
)


class UnknownColourMapError(EngineError, ValueError):
    """A colour map name matplotlib does not know."""


@dataclass(frozen=True, kw_only=True)
class Normalisation:
    """How float values become colours: the query parameters of a tile or image."""

    vmin: float
    vmax: float
    log_norm: bool = False
    absolute: bool = False
    clip: bool = False
    stretch: str = "linear"
    asinh_a: float = DEFAULT_ASINH_A
    gamma: float = DEFAULT_GAMMA
    # ``maps.engine.stretch.histeq_table``'s ``(xs, cdf)``, for ``histeq``.
    histeq: tuple[tuple[float, ...], tuple[float, ...]] | None = None


def _planck_colours(positions: np.ndarray) -> np.ndarray:
    anchors = np.array([position for position, _ in PLANCK_ANCHORS])
    rgb = np.array([colour for _, colour in PLANCK_ANCHORS], dtype=np.float64)
    channels = [np.interp(positions, anchors, rgb[:, channel]) for channel in range(3)]
    colours = np.full((positions.size, 4), 255, dtype=np.uint8)
    colours[:, :3] = np.round(np.stack(channels, axis=1)).astype(np.uint8)
    return colours


def _colours(name: str) -> np.ndarray:
    """``N_COLOURS`` RGBA uint8 colours of ``name``, low to high."""
    import matplotlib

    positions = np.linspace(0.0, 1.0, N_COLOURS)
    if name == "planck":
        return _planck_colours(positions)
    if name in matplotlib.colormaps:
        return matplotlib.colormaps[name](positions, bytes=True)
    base = name.removesuffix(REVERSED_SUFFIX)
    if base != name and base and not base.endswith(REVERSED_SUFFIX):
        try:
            return _colours(base)[::-1]
        except UnknownColourMapError:
            pass
    raise UnknownColourMapError(f"unknown colour map {name!r}")


@lru_cache(maxsize=64)
def _lut(name: str) -> np.ndarray:
    lut = np.zeros((LUT_SIZE, 4), dtype=np.uint8)
    lut[:N_COLOURS] = _colours(name)
    lut.flags.writeable = False
    return lut


def lookup_table(name: str) -> np.ndarray:
    """The ``(256, 4)`` uint8 RGBA table of colour map ``name``, cached per name.

    Entries ``0 .. N_COLOURS - 1`` run from the low to the high end of the
    map; entry ``TRANSPARENT_INDEX`` is ``(0, 0, 0, 0)``. The array is
    read-only and shared.

    Raises
    ------
    UnknownColourMapError
        When the name is neither ``planck``, a matplotlib colour map, nor
        one of those followed by ``_r``.
    """
    if not isinstance(name, str):
        raise UnknownColourMapError(f"unknown colour map {name!r}")
    return _lut(name)


def check_normalisation(norm: Normalisation) -> None:
    """Raise ``ValueError`` with a one-line reason when ``norm`` cannot colour anything."""
    if not (np.isfinite(norm.vmin) and np.isfinite(norm.vmax)):
        raise ValueError(f"vmin {norm.vmin} and vmax {norm.vmax} must be finite")
    if norm.vmin >= norm.vmax:
        raise ValueError(f"vmin {norm.vmin:g} must be less than vmax {norm.vmax:g}")
    if norm.log_norm and norm.vmin <= 0:
        raise ValueError(f"log_norm needs vmin > 0, got {norm.vmin:g}")
    check_stretch(norm.stretch, asinh_a=norm.asinh_a, gamma=norm.gamma)
    if norm.stretch == "histeq" and norm.histeq is None:
        raise ValueError("the histeq stretch needs the layer's histogram")


def colour_indices(data: np.ndarray, norm: Normalisation) -> np.ndarray:
    """Map float pixels to LUT indices (uint8, same shape, C-contiguous).

    Parameters
    ----------
    data : ndarray
        Float pixels; any layout (a mirrored or flipped view is fine).
    norm : Normalisation
        Range and options; see the module docstring for their meaning.

    Returns
    -------
    ndarray
        uint8 indices: ``0 .. N_COLOURS - 1`` for colours, where the value
        ``t = (v - vmin) / (vmax - vmin)`` (of ``log10`` values with
        ``log_norm``), stretched (``apply_stretch`` of ``t`` clipped to
        [0, 1]) unless the stretch is linear, picks entry
        ``floor(t * N_COLOURS)`` clamped to the ends, and
        ``TRANSPARENT_INDEX`` for NaN (and for non-positive values under
        ``log_norm`` without ``clip``).
    """
    check_normalisation(norm)
    values = np.asarray(data, dtype=np.float32)
    if norm.absolute:
        values = np.abs(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        if norm.log_norm:
            low, high = np.log10(norm.vmin), np.log10(norm.vmax)
            if norm.clip:
                values = np.maximum(values, np.float32(norm.vmin))
            # log10 of a negative value is NaN and of zero -inf: the NaN
            # branch below makes both transparent unless clipped above.
            values = np.log10(values)
            values[values == -np.inf] = np.nan
        else:
            low, high = norm.vmin, norm.vmax
        scale = np.float32(N_COLOURS / (high - low))
        scaled = (values - np.float32(low)) * scale
        if norm.stretch != "linear":
            stretched = apply_stretch(
                scaled / np.float32(N_COLOURS),
                norm.stretch,
                asinh_a=norm.asinh_a,
                gamma=norm.gamma,
                histeq=norm.histeq,
            )
            scaled = stretched * np.float32(N_COLOURS)
        missing = np.isnan(scaled)
        np.clip(scaled, 0, N_COLOURS - 1, out=scaled)
        indices = scaled.astype(np.uint8)
    indices[missing] = TRANSPARENT_INDEX
    return indices


def colourise(data: np.ndarray, norm: Normalisation, *, cmap: str) -> np.ndarray:
    """RGBA uint8 image ``(*data.shape, 4)`` of ``data``; NaN is transparent black."""
    return lookup_table(cmap)[colour_indices(data, norm)]
