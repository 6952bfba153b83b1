"""Sample data for ``dev``: a CAR map, a catalogue and a highlight box, written on demand.

The map is ACT-like (CDELT1 < 0, I/Q/U planes in uK, partial sky) at 7.5
arcmin, small enough to write in well under a second yet deep enough for
three zoom levels. Its content is easy to recognise in the viewer: a grid of
point sources (the catalogue lists them), the letters "TM" (reading
correctly in the astronomical orientation, RA increasing to the left) in
all three planes, and a ring whose Q and U show a quadrupole pattern
(Q = -A cos 2phi, U = -A sin 2phi, phi the position angle around its centre).
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

PIXEL_SCALE_DEG = 7.5 / 60
DEC_BOTTOM_DEG = -60.0
DEC_TOP_DEG = 20.0
NX = round(360 / PIXEL_SCALE_DEG)
NY = round((DEC_TOP_DEG - DEC_BOTTOM_DEG) / PIXEL_SCALE_DEG)
SEED = 20260101

NOISE_UK = (15.0, 5.0, 5.0)
SMOOTH_RMS_UK = (80.0, 4.0, 4.0)
LETTER_UK = (400.0, 40.0, -40.0)
RING_I_UK = 250.0
RING_POL_UK = 60.0

LETTERS_CENTRE_RA_DEG = 30.0
LETTERS_CENTRE_DEC_DEG = -20.0
LETTER_CELL_DEG = 1.5
RING_CENTRE_RA_DEG = 120.0
RING_CENTRE_DEC_DEG = -25.0
RING_RADIUS_DEG = 6.0
RING_WIDTH_DEG = 0.6

SOURCE_RA_STEP_DEG = 15.0
SOURCE_DECS_DEG = (-50.0, -35.0, 5.0, 15.0)
SOURCE_FWHM_DEG = 0.4

MAP_FILENAME = "tilemaker_demo_f090_map.fits"
CATALOG_FILENAME = "tilemaker_demo_sources.json"

# 5 x 7 bitmaps, top row first; "#" is lit.
GLYPHS = {
    "T": ("#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."),
    "M": ("#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"),
}


@dataclass(frozen=True)
class DemoData:
    map_path: Path
    catalog_path: Path
    boxes: list[dict]
    n_sources: int


def demo_header() -> fits.Header:
    header = fits.Header()
    header["CTYPE1"] = "RA---CAR"
    header["CTYPE2"] = "DEC--CAR"
    header["CUNIT1"] = "deg"
    header["CUNIT2"] = "deg"
    header["CDELT1"] = -PIXEL_SCALE_DEG
    header["CDELT2"] = PIXEL_SCALE_DEG
    header["CRVAL1"] = 0.0
    header["CRVAL2"] = 0.0
    # RA 0 at the middle column, Dec 0 on the row it falls on (1-based, pixell style).
    header["CRPIX1"] = NX / 2 + 0.5
    header["CRPIX2"] = 0.5 - DEC_BOTTOM_DEG / PIXEL_SCALE_DEG
    header["BUNIT"] = "uK"
    header["TELESCOP"] = "TileMaker demo"
    header["COMMENT"] = "Synthetic sample map written by tilemaker dev."
    return header


def pixel_axes_deg() -> tuple[np.ndarray, np.ndarray]:
    """RA of each column (in (-180, 180]) and Dec of each row, at pixel centres."""
    header = demo_header()
    columns = np.arange(NX) + 1.0
    rows = np.arange(NY) + 1.0
    ra = header["CRVAL1"] + (columns - header["CRPIX1"]) * header["CDELT1"]
    dec = header["CRVAL2"] + (rows - header["CRPIX2"]) * header["CDELT2"]
    return ra, dec


def source_positions_deg() -> list[tuple[float, float, float]]:
    """``(ra_deg in [0, 360), dec_deg, amplitude_uk)`` of every point source."""
    rng = np.random.default_rng(SEED + 1)
    positions = []
    for dec in SOURCE_DECS_DEG:
        for ra in np.arange(0.0, 360.0, SOURCE_RA_STEP_DEG) + SOURCE_RA_STEP_DEG / 2:
            amplitude = float(np.round(rng.uniform(300.0, 3000.0), 1))
            positions.append((float(ra), dec, amplitude))
    return positions


def _smooth_field(rng: np.random.Generator, ra_rad: np.ndarray, dec_rad: np.ndarray) -> np.ndarray:
    """A sum of random plane waves of 3-40 degree wavelength, unit rms."""
    field = np.zeros((dec_rad.size, ra_rad.size), dtype=np.float64)
    for _ in range(40):
        wavelength_rad = np.radians(rng.uniform(3.0, 40.0))
        angle = rng.uniform(0, 2 * np.pi)
        phase_ra, phase_dec = rng.uniform(0, 2 * np.pi, size=2)
        # Whole cycles around the sphere in RA so the map has no seam at RA 180.
        cycles_ra = max(1, round(2 * np.pi * abs(np.cos(angle)) / wavelength_rad))
        k_dec = 2 * np.pi * np.sin(angle) / wavelength_rad
        field += (
            np.cos(cycles_ra * ra_rad + phase_ra)[None, :]
            * np.cos(k_dec * dec_rad + phase_dec)[:, None]
        )
    return field / field.std()


def _letters_mask(ra_deg: np.ndarray, dec_deg: np.ndarray, text: str = "TM") -> np.ndarray:
    """True where a glyph cell is lit; text runs towards lower RA (left to right on the sky)."""
    columns_per_glyph = 6
    width_cells = columns_per_glyph * len(text) - 1
    left_ra = LETTERS_CENTRE_RA_DEG + width_cells * LETTER_CELL_DEG / 2
    top_dec = LETTERS_CENTRE_DEC_DEG + 7 * LETTER_CELL_DEG / 2
    cell_x = np.floor((left_ra - ra_deg) / LETTER_CELL_DEG).astype(int)
    cell_y = np.floor((top_dec - dec_deg) / LETTER_CELL_DEG).astype(int)
    mask = np.zeros((dec_deg.size, ra_deg.size), dtype=bool)
    for index, letter in enumerate(text):
        for row, pattern in enumerate(GLYPHS[letter]):
            for column, lit in enumerate(pattern):
                if lit == "#":
                    x = index * columns_per_glyph + column
                    mask |= (cell_y == row)[:, None] & (cell_x == x)[None, :]
    return mask


def _ra_offset_deg(ra_deg: np.ndarray, centre_ra_deg: float) -> np.ndarray:
    return (ra_deg - centre_ra_deg + 180.0) % 360.0 - 180.0


def demo_planes() -> np.ndarray:
    """The I, Q, U planes (float32, shape ``(3, NY, NX)``) of the demo map."""
    rng = np.random.default_rng(SEED)
    ra_deg, dec_deg = pixel_axes_deg()
    smooth = _smooth_field(rng, np.radians(ra_deg), np.radians(dec_deg))
    planes = np.empty((3, NY, NX), dtype=np.float32)
    letters = _letters_mask(ra_deg, dec_deg)

    dx = _ra_offset_deg(ra_deg, RING_CENTRE_RA_DEG)[None, :] * np.cos(
        np.radians(RING_CENTRE_DEC_DEG)
    )
    dy = (dec_deg - RING_CENTRE_DEC_DEG)[:, None]
    radius = np.hypot(dx, dy)
    ring = np.exp(-0.5 * ((radius - RING_RADIUS_DEG) / (RING_WIDTH_DEG / 2)) ** 2)
    # Position angle measured from north through east (towards higher RA).
    phi = np.arctan2(dx, dy)
    ring_planes = (
        RING_I_UK * ring,
        -RING_POL_UK * ring * np.cos(2 * phi),
        -RING_POL_UK * ring * np.sin(2 * phi),
    )

    for plane in range(3):
        values = SMOOTH_RMS_UK[plane] * np.roll(smooth, 97 * plane, axis=1)
        values += NOISE_UK[plane] * rng.standard_normal((NY, NX))
        values += LETTER_UK[plane] * letters
        values += ring_planes[plane]
        planes[plane] = values

    sigma_deg = SOURCE_FWHM_DEG / np.sqrt(8 * np.log(2))
    half_px = int(np.ceil(4 * sigma_deg / PIXEL_SCALE_DEG))
    for ra, dec, amplitude in source_positions_deg():
        column = int(np.argmin(np.abs(_ra_offset_deg(ra_deg, ra))))
        row = int(np.argmin(np.abs(dec_deg - dec)))
        rows = slice(max(row - half_px, 0), min(row + half_px + 1, NY))
        columns = slice(max(column - half_px, 0), min(column + half_px + 1, NX))
        sx = _ra_offset_deg(ra_deg[columns], ra) * np.cos(np.radians(dec))
        sy = dec_deg[rows] - dec
        beam = np.exp(-0.5 * (sx[None, :] ** 2 + sy[:, None] ** 2) / sigma_deg**2)
        planes[0, rows, columns] += (amplitude * beam).astype(np.float32)
    return planes


def demo_boxes() -> list[dict]:
    """One highlight box around the letters, in the data-configuration format."""
    half_width_deg = 6 * LETTER_CELL_DEG + 2.0
    half_height_deg = 3.5 * LETTER_CELL_DEG + 2.0
    return [
        {
            "name": "TM letters",
            "description": "The lettering on the demo map: download it as a cut-out.",
            "top_left_ra": LETTERS_CENTRE_RA_DEG - half_width_deg,
            "top_left_dec": LETTERS_CENTRE_DEC_DEG + half_height_deg,
            "bottom_right_ra": LETTERS_CENTRE_RA_DEG + half_width_deg,
            "bottom_right_dec": LETTERS_CENTRE_DEC_DEG - half_height_deg,
        }
    ]


def demo_catalog() -> list[dict]:
    """The point sources in the catalogue-file format (SPEC section 3)."""
    return [
        {
            "name": f"Demo source {number:03d}",
            "ra": ra,
            "dec": dec,
            "extra": {"peak_uK": amplitude, "snr": round(amplitude / NOISE_UK[0], 1)},
        }
        for number, (ra, dec, amplitude) in enumerate(source_positions_deg(), start=1)
    ]


def write_demo_data(folder: Path) -> DemoData:
    """Write the demo map and catalogue into ``folder`` (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    map_path = folder / MAP_FILENAME
    fits.PrimaryHDU(data=demo_planes(), header=demo_header()).writeto(map_path)
    catalog = demo_catalog()
    catalog_path = folder / CATALOG_FILENAME
    catalog_path.write_text(json.dumps(catalog, indent=1))
    return DemoData(
        map_path=map_path, catalog_path=catalog_path, boxes=demo_boxes(), n_sources=len(catalog)
    )
