"""Image and FITS encoders, one class per format (as DRF's renderers).

Each renderer has ``format`` (the file extension used in URLs),
``media_type`` and ``render(...) -> bytes``. Image renderers take an
image-oriented array of LUT indices (row 0 is the top of the picture, see
``maps.engine.colormap``) and the ``(256, 4)`` RGBA table.

PNG is an 8-bit palette image with a ``tRNS`` chunk making
``TRANSPARENT_INDEX`` transparent: one byte per pixel instead of four.
Whether to compress depends on the pixels. Measured on 675 x 675 tiles of
an ACT-like map (one core, the box busy with other work): noise-dominated
native tiles hardly compress (zlib level 1 with the run-length strategy:
18 ms for 419 kB; stored: 0.5 ms for 458 kB; an RGBA PNG: 250 ms, 1.1 MB),
while smooth coarse-level tiles and tiles mostly without data shrink 20x
(458 kB -> 26 kB in 1.3 ms). So a tile is stored uncompressed unless at
least ``PNG_COMPRESS_MIN_REPEATS`` of its pixels repeat their left-hand
neighbour (2.6 % for native ACT tiles, 97 % for smooth ones), which costs
a fraction of a millisecond to count.
WebP is lossy RGBA (NaN stays transparent); JPEG has no alpha, so pixels
without data are drawn in ``JPEG_BACKGROUND`` (black).
"""

import io
import zlib

import numpy as np
from astropy.io import fits
from PIL import Image

from maps.engine.colormap import LUT_SIZE, N_COLOURS, TRANSPARENT_INDEX, lookup_table

PNG_ZLIB_LEVEL = 1
PNG_ZLIB_STRATEGY = zlib.Z_RLE
PNG_COMPRESS_MIN_REPEATS = 0.25
WEBP_QUALITY = 80
# libwebp's effort/speed trade-off, 0 (fastest) .. 6; tiles are made on demand.
WEBP_METHOD = 0
JPEG_QUALITY = 90
JPEG_BACKGROUND = (0, 0, 0)
COLOUR_BAR_WIDTH = 256
COLOUR_BAR_HEIGHT = 8
# FITS header keywords naming the layer a cut-out came from.
LAYER_KEYWORD = "TM_LAYER"
FITS_STRING_MAX = 68


def _check_indices(indices: np.ndarray, lut: np.ndarray) -> np.ndarray:
    if indices.dtype != np.uint8 or indices.ndim != 2:
        raise ValueError("expected a 2-D uint8 array of colour indices")
    if lut.shape != (LUT_SIZE, 4):
        raise ValueError(f"expected a ({LUT_SIZE}, 4) colour table")
    return np.ascontiguousarray(indices)


class ImageRenderer:
    """Base class: a colour-indexed image in, encoded bytes out."""

    format: str
    media_type: str

    def render(self, indices: np.ndarray, lut: np.ndarray) -> bytes:
        raise NotImplementedError


class PNGRenderer(ImageRenderer):
    """Lossless 8-bit palette PNG; ``TRANSPARENT_INDEX`` transparent via ``tRNS``."""

    format = "png"
    media_type = "image/png"

    def render(self, indices: np.ndarray, lut: np.ndarray) -> bytes:
        indices = _check_indices(indices, lut)
        repeats = np.count_nonzero(indices[:, 1:] == indices[:, :-1])
        compress = repeats >= PNG_COMPRESS_MIN_REPEATS * indices.size
        image = Image.fromarray(indices)
        image.putpalette(lut[:, :3].tobytes(), rawmode="RGB")
        out = io.BytesIO()
        image.save(
            out,
            format="PNG",
            compress_level=PNG_ZLIB_LEVEL if compress else 0,
            compress_type=PNG_ZLIB_STRATEGY,
            transparency=TRANSPARENT_INDEX,
        )
        return out.getvalue()


class WebPRenderer(ImageRenderer):
    """Lossy RGBA WebP at ``WEBP_QUALITY``."""

    format = "webp"
    media_type = "image/webp"

    def render(self, indices: np.ndarray, lut: np.ndarray) -> bytes:
        indices = _check_indices(indices, lut)
        image = Image.fromarray(lut[indices])
        out = io.BytesIO()
        image.save(out, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
        return out.getvalue()


class JPEGRenderer(ImageRenderer):
    """RGB JPEG at ``JPEG_QUALITY``; pixels without data drawn in ``JPEG_BACKGROUND``."""

    format = "jpg"
    media_type = "image/jpeg"

    def render(self, indices: np.ndarray, lut: np.ndarray) -> bytes:
        indices = _check_indices(indices, lut)
        rgb = np.array(lut[:, :3])
        rgb[TRANSPARENT_INDEX] = JPEG_BACKGROUND
        image = Image.fromarray(rgb[indices])
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=JPEG_QUALITY)
        return out.getvalue()


IMAGE_RENDERERS: dict[str, ImageRenderer] = {
    renderer.format: renderer for renderer in (PNGRenderer(), WebPRenderer(), JPEGRenderer())
}


class FITSRenderer:
    """A cut-out as a single-HDU FITS file: float32 data, its CAR header, units and layer."""

    format = "fits"
    media_type = "application/fits"

    def render(
        self,
        data: np.ndarray,
        *,
        header: fits.Header,
        layer_id: str,
        bunit: str | None = None,
    ) -> bytes:
        """Encode ``data`` (FITS row order: row 0 is the south edge).

        Parameters
        ----------
        data : ndarray
            The cut-out pixels; written as big-endian float32, NaN kept.
        header : astropy.io.fits.Header
            The cut-out's WCS header; copied, never modified.
        layer_id : str
            Written as ``TM_LAYER`` and ``EXTNAME`` so the file says where it came from.
        bunit : str, optional
            Units; overrides any ``BUNIT`` already in ``header``.
        """
        out_header = header.copy()
        for key in ("SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTEND"):
            out_header.remove(key, ignore_missing=True, remove_all=True)
        if bunit:
            out_header["BUNIT"] = bunit
        # No inline comment: beside an id of 23-68 characters it would not fit
        # on the card and astropy would truncate it with a warning.
        out_header[LAYER_KEYWORD] = layer_id
        out_header.add_comment(f"{LAYER_KEYWORD}: the TileMaker layer this cut-out was taken from")
        # A FITS string value holds at most 68 characters; TM_LAYER keeps the
        # whole id (astropy continues long strings), EXTNAME a prefix.
        out_header["EXTNAME"] = layer_id[:FITS_STRING_MAX]
        hdu = fits.PrimaryHDU(data=np.asarray(data, dtype=np.float32), header=out_header)
        out = io.BytesIO()
        hdu.writeto(out, output_verify="silentfix")
        return out.getvalue()


FITS_RENDERER = FITSRenderer()


def colour_bar_png(cmap: str) -> bytes:
    """The colour bar of ``cmap``: ``COLOUR_BAR_WIDTH`` x ``COLOUR_BAR_HEIGHT`` PNG, low to high
    from left to right."""
    lut = lookup_table(cmap)
    row = np.round(np.linspace(0, N_COLOURS - 1, COLOUR_BAR_WIDTH)).astype(np.uint8)
    indices = np.broadcast_to(row, (COLOUR_BAR_HEIGHT, COLOUR_BAR_WIDTH))
    return PNGRenderer().render(np.ascontiguousarray(indices), lut)
