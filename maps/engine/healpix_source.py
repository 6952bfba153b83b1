"""``HealpixSource``: a HEALPix column served as a ``PixelSource`` on the SPEC tile grid.

Native tile pixels (the deepest level and the one above it, where a tile
pixel is at most a HEALPix pixel) take the value of the HEALPix pixel
containing their centre. Coarser tile pixels take, at their centre, the value
of the map downgraded NaN-aware (the mean of the finite HEALPix pixels
within each coarser NESTED pixel, as ``healpy.ud_grade`` on a map without
gaps) to the finest NSIDE whose pixels are at least as large as the tile
pixel, so every HEALPix pixel contributes to a coarse tile. Downgrades by 2
and 4 are computed per tile from the children (at most 16 reads per tile
pixel); further ones come from a pyramid built once per map by one pass over
the file (the CAR overview's counterpart: ``start_overview`` builds it on the
background worker). A coarse tile asked for while the build is queued or
running waits for it (``wait_for_overview``, at most ``BUILD_WAIT_SECONDS``),
else, or when no build was started, is computed from the children in the
file.
Everything else (cut-outs, histograms, derived maps) reads the virtual CAR
plane (``maps.engine.healpix``).
"""

import math
import threading

import numpy as np
from astropy_healpix import core as healpix_core

from maps.engine.aperture import healpix_aperture_stats
from maps.engine.cutout import Cutout
from maps.engine.errors import NoDataError, OutOfRangeError
from maps.engine.geometry import TileIndex, tile_bounds_deg
from maps.engine.healpix import FRAME_NAMES, HealpixReader, loc2pix, sky_to_map
from maps.engine.sources import TILE_METHODS, PixelSource

# Downgrade steps (factor 2^step in NSIDE) computed per tile from the children;
# beyond, the pyramid (a step of 3 would read 64 pixels per tile pixel), or the
# children too while the pyramid is being built.
DIRECT_STEPS = 2
# Children gathered at once for a coarse tile without the pyramid: bounds the
# transient memory of a level-0 tile (half the sky, 25 M children at NSIDE
# 2048, Q and U) to a 79 MB peak of indices, values and row blocks (2^20:
# 136 MB; the time is the same).
CHILDREN_PER_CHUNK = 1 << 19
# How long a coarse tile waits for a started pyramid build before reading the
# file itself. NSIDE 2048 Q+U: the build takes 3.7-4.3 s CPU, a level-0 tile
# from the file 2.2-2.6 s CPU; the viewer asks for both level-0 tiles (or up
# to eight level-1 tiles) at once, so computing them beside the build took
# 9-15 s wall on the 2 shared cores (TILEMAKER_PRECACHE=no: both level-0
# tiles 15 s after ready), more than the build alone.
BUILD_WAIT_SECONDS = 20.0


class HealpixSource(PixelSource):
    """Tiles and the virtual CAR plane of one HEALPix column (thread-safe)."""

    def __init__(self, reader: HealpixReader, version: str):
        super().__init__(reader.info, version)
        self._reader = reader
        self.healpix = reader.healpix
        self._pyramid: dict[int, dict[str, np.ndarray]] | None = None
        self._pyramid_lock = threading.Lock()
        self._pyramid_done = threading.Event()

    def read_window(self, *, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        return self._reader.read(y0=y0, y1=y1, x0=x0, x1=x1)

    def take(self, *, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self._reader.take(rows=rows, cols=cols)

    @property
    def overview_ready(self) -> bool:
        return self._pyramid is not None or self._top_step() <= DIRECT_STEPS

    @property
    def overview_nbytes(self) -> int:
        pyramid = self._pyramid
        if pyramid is None:
            return 0
        return sum(values.nbytes for level in pyramid.values() for values in level.values())

    def build_overview(self) -> None:
        """Build the downgraded pyramid now, in the calling thread (one pass over the file;
        ``start_overview`` queues it on the background worker)."""
        try:
            self._ensure_pyramid()
        finally:
            # Also on failure: a waiting tile then reads the file.
            self._pyramid_done.set()

    def wait_for_overview(self, *, level: int) -> bool:
        """Wait up to ``BUILD_WAIT_SECONDS`` for a queued or running pyramid build when a tile
        at ``level`` would read from it (beyond the downgrades computed per tile); at once
        when none was started. Returns whether the pyramid is ready."""
        if self.overview_ready or self.step_for_level(level) <= DIRECT_STEPS:
            return True
        if not self._overview_started:
            return False
        self._pyramid_done.wait(BUILD_WAIT_SECONDS)
        return self.overview_ready

    def _columns(self) -> tuple[str, ...]:
        h = self.healpix
        return (h.column, h.partner) if h.polarisation_rotated else (h.column,)

    def _top_step(self) -> int:
        return int(math.log2(self.healpix.nside))

    def _ensure_pyramid(self) -> dict[int, dict[str, np.ndarray]]:
        with self._pyramid_lock:
            if self._pyramid is not None:
                return self._pyramid
            nside, first = self.healpix.nside, DIRECT_STEPS + 1
            if self._top_step() < first:
                self._pyramid = {}
                return self._pyramid
            npix = 12 * (nside >> first) ** 2
            sums = {name: np.zeros(npix) for name in self._columns()}
            counts = {name: np.zeros(npix) for name in self._columns()}
            for pixels, values in self._reader.stored(self._columns()):
                parents = pixels >> (2 * first)
                everywhere = None
                for name, chunk in values.items():
                    # Weights instead of boolean selections: a selection copies
                    # both arrays; without NaN, one count serves every column.
                    finite = np.isfinite(chunk)
                    if finite.all():
                        if everywhere is None:
                            everywhere = np.bincount(parents, minlength=npix)
                        counts[name] += everywhere
                        sums[name] += np.bincount(parents, weights=chunk, minlength=npix)
                    else:
                        counts[name] += np.bincount(parents, weights=finite, minlength=npix)
                        sums[name] += np.bincount(
                            parents, weights=np.where(finite, chunk, 0.0), minlength=npix
                        )
            pyramid = {}
            for step in range(first, self._top_step() + 1):
                with np.errstate(invalid="ignore", divide="ignore"):
                    pyramid[step] = {
                        name: (sums[name] / counts[name]).astype(np.float32) for name in sums
                    }
                for name in sums:
                    sums[name] = sums[name].reshape(-1, 4).sum(axis=1)
                    counts[name] = counts[name].reshape(-1, 4).sum(axis=1)
            self._pyramid = pyramid
            return pyramid

    def _coarse_values(
        self, nested: np.ndarray, step: int, names: tuple[str, ...]
    ) -> list[np.ndarray]:
        """NaN-aware means of the HEALPix pixels within NESTED ``nested`` at NSIDE / 2^step,
        per column: from the pyramid once built, else from the children in the file (a
        coarse tile asked for meanwhile is slower, never blocked behind the build)."""
        pyramid = self._pyramid
        if step > DIRECT_STEPS and pyramid is not None:
            return [pyramid[step][name][nested] for name in names]
        out = [np.empty(len(nested), dtype=np.float32) for _ in names]
        per_chunk = max(1, CHILDREN_PER_CHUNK >> (2 * step))
        for start in range(0, len(nested), per_chunk):
            parents = nested[start : start + per_chunk]
            children = ((parents[:, None] << (2 * step)) + np.arange(4**step)).ravel()
            if self.healpix.ordering == "RING":
                children = healpix_core.nested_to_ring(children, self.healpix.nside)
            for values, result in zip(self._reader.columns_at(children, names), out, strict=True):
                values = values.reshape(len(parents), -1)
                finite = np.isfinite(values)
                sums = np.where(finite, values, 0).sum(axis=1, dtype=np.float64)
                with np.errstate(invalid="ignore", divide="ignore"):
                    result[start : start + per_chunk] = sums / finite.sum(axis=1)
        return out

    def step_for_level(self, level: int) -> int:
        """The downgrade step of tile level ``level``: the finest NSIDE / 2^step whose pixels
        are at least the tile pixel's size (0 at the native levels)."""
        pixel_deg = 180.0 / (self.info.grid.tile_size * 2**level)
        ratio = pixel_deg / self.healpix.resolution_deg
        step = math.ceil(math.log2(ratio) - 1e-9) if ratio > 1 else 0
        return min(step, self._top_step())

    def tile(self, *, index: TileIndex, flip: bool = False, method: str = "mean") -> np.ndarray:
        """One tile; see ``PixelSource.tile`` and the module docstring for the values."""
        if method not in TILE_METHODS:
            raise OutOfRangeError(f"method {method!r} is not one of {', '.join(TILE_METHODS)}")
        grid = self.info.grid
        level, x, y = index.level, index.x, index.y
        if not (
            0 <= level < grid.number_of_levels and 0 <= x < 2 ** (level + 1) and 0 <= y < 2**level
        ):
            raise OutOfRangeError(f"tile {level}/{y}/{x} is outside the grid")
        ra_min, ra_max, dec_min, dec_max = tile_bounds_deg(index=index)
        size = grid.tile_size
        centres = (np.arange(size) + 0.5) / size
        ra_deg = ra_min + centres * (ra_max - ra_min)
        dec_deg = dec_max - centres * (dec_max - dec_min)
        if flip:
            ra_deg = ra_deg[::-1]
        ra_row, dec_column = ra_deg[np.newaxis, :], dec_deg[:, np.newaxis]
        step = self.step_for_level(level) if method == "mean" else 0
        if step == 0:
            data = self._reader.values_at(ra_row, dec_column)
        else:
            data = self._coarse_tile(ra_row, dec_column, step)
        finite = np.isfinite(data)
        if not finite.any():
            raise NoDataError("no data in this tile")
        np.copyto(data, np.nan, where=~finite)
        return data

    def _coarse_tile(self, ra_deg: np.ndarray, dec_deg: np.ndarray, step: int) -> np.ndarray:
        h = self.healpix
        z, phi, sin_theta, psi = sky_to_map(ra_deg, dec_deg, h.frame)
        pixels = loc2pix(z, phi, sin_theta, h.nside >> step, nested=True)
        shape = pixels.shape
        unique, inverse = np.unique(pixels.ravel(), return_inverse=True)
        columns = [values[inverse] for values in self._coarse_values(unique, step, self._columns())]
        values = columns[0]
        if h.polarisation_rotated:
            values = self._reader.rotated(values, columns[1], psi.ravel())
        return values.reshape(shape).astype(np.float32, copy=False)

    def cutout(self, **bounds) -> Cutout:
        """A CAR cut-out of the virtual plane, its header naming the HEALPix source."""
        result = super().cutout(**bounds)
        h = self.healpix
        header = result.header
        header["HPXFILE"] = (h.path.rsplit("/", 1)[-1][:68], "HEALPix source file")
        header["HPXCOL"] = (h.column, "HEALPix column")
        header["HPXNSIDE"] = (h.nside, "HEALPix NSIDE of the source")
        header["HPXORDER"] = (h.ordering, "HEALPix ordering of the source")
        if h.scale != 1.0:
            header["HPXSCALE"] = (h.scale, "values are the source's times this")
            if h.unit:
                header["HPXUNIT"] = (h.unit[:68], "unit of the source's values")
        header["HISTORY"] = (
            f"Resampled from a HEALPix {FRAME_NAMES[h.frame]} map: each pixel is the value "
            "of the HEALPix pixel containing its centre."
        )
        if h.stokes is not None and h.frame != "C":
            header["HISTORY"] = (
                "Q/U rotated to equatorial (spin 2)."
                if h.polarisation_rotated
                else "Q/U NOT rotated to equatorial: no partner column."
            )
        return result

    def aperture(
        self, *, ra_deg: float, dec_deg: float, radius_arcmin: float, max_radius_arcmin: float
    ) -> dict:
        """Statistics over the HEALPix pixels (not the virtual CAR plane) within the radius;
        see ``maps.engine.aperture.healpix_aperture_stats``."""
        return healpix_aperture_stats(
            reader=self._reader,
            ra_deg=ra_deg,
            dec_deg=dec_deg,
            radius_arcmin=radius_arcmin,
            max_radius_arcmin=max_radius_arcmin,
        )
