"""Image endpoints against brute-force references computed from the FITS file itself.

The expected value of a tile pixel is found without the engine: the tile
grid of SPEC section 5 gives the sky position of each tile pixel, the
map's header formula gives the FITS pixel(s) under it, and astropy reads
them. The expected colour is the colour table entry picked by a scalar
re-statement of the normalisation.
"""

import io
import math

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from django.test import override_settings
from PIL import Image

from maps.engine.colormap import N_COLOURS, lookup_table
from tests.support.image_layers import (
    CMAP,
    DEC_BOTTOM_DEG,
    LEVELS,
    NAN_COLS,
    NAN_ROWS,
    NX,
    NY,
    PIXEL_SCALE_DEG,
    RA_LEFT_DEG,
    TILE_SIZE,
    VMAX,
    VMIN,
    make_layer,
    map_pixel_centre,
)

pytestmark = pytest.mark.django_db
DEEPEST = LEVELS - 1
# Values this close to a colour boundary (in colour steps) may fall either
# side in float32; they are left out rather than guessed.
BOUNDARY_MARGIN = 1e-3


# --- Brute-force references ----------------------------------------------------


def map_data(path) -> np.ndarray:
    return fits.getdata(path).astype(np.float64)


def native_pixel_of_sky(ra_deg, dec_deg):
    """FITS (column, row) whose centre is at (ra, dec), from the header's linear formula."""
    column = (RA_LEFT_DEG - ra_deg) / PIXEL_SCALE_DEG - 0.5
    row = (dec_deg - DEC_BOTTOM_DEG) / PIXEL_SCALE_DEG - 0.5
    return round(column), round(row)


def expected_tile_pixel_value(data, *, level, global_column, global_row) -> float:
    """NaN-mean of the native pixels under one tile pixel (global, west-to-east, south-up)."""
    factor = 2 ** (DEEPEST - level)
    native_scale = 180.0 / (TILE_SIZE * 2**DEEPEST)
    values = []
    for i in range(factor):
        for j in range(factor):
            ra = -180.0 + (global_column * factor + i + 0.5) * native_scale
            dec = -90.0 + (global_row * factor + j + 0.5) * native_scale
            column, row = native_pixel_of_sky(ra, dec)
            inside = 0 <= column < data.shape[1] and 0 <= row < data.shape[0]
            values.append(data[row, column] if inside else np.nan)
    finite = [v for v in values if not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def remap_flip(x, level):
    """SPEC section 5's flip remapping of a tile column (an involution)."""
    m = 2**level
    if level == 0:
        return x
    return m - 1 - x if x < m else m - 1 - (x - m) + m


def reference_index(value, *, vmin, vmax, log_norm=False, absolute=False, clip=False):
    """Colour table index of one value, or None when it sits on a colour boundary."""
    if math.isnan(value):
        return N_COLOURS
    if absolute:
        value = abs(value)
    if log_norm:
        if value <= 0:
            if not clip:
                return N_COLOURS
            value = vmin
        t = (math.log10(value) - math.log10(vmin)) / (math.log10(vmax) - math.log10(vmin))
    else:
        t = (value - vmin) / (vmax - vmin)
    steps = t * N_COLOURS
    if 0 < steps < N_COLOURS and abs(steps - round(steps)) < BOUNDARY_MARGIN:
        return None
    return min(max(math.floor(steps), 0), N_COLOURS - 1)


def decode_rgba(response) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(response.content)).convert("RGBA"))


def sample_tile_pixels(level, rng, count):
    """Random (global column, global row) tile pixels inside the map at ``level``."""
    scale = 180.0 / (TILE_SIZE * 2**level)
    ra = rng.uniform(-RA_LEFT_DEG + 0.6, RA_LEFT_DEG - 0.6, count)
    dec = rng.uniform(DEC_BOTTOM_DEG + 0.6, -DEC_BOTTOM_DEG - 0.6, count)
    columns = np.floor((ra + 180.0) / scale).astype(int)
    rows = np.floor((dec + 90.0) / scale).astype(int)
    return list(zip(columns.tolist(), rows.tolist(), strict=True))


# --- Tiles -----------------------------------------------------------------------


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize("level", range(LEVELS))
def test_tile_pixels_have_the_colour_of_the_sky_under_them(client, image_layer, level, flip):
    data = map_data(image_layer.provider["filename"])
    lut = lookup_table(CMAP)
    rng = np.random.default_rng(level * 2 + flip)
    decoded = {}
    checked = 0
    for global_column, global_row in sample_tile_pixels(level, rng, 60):
        x, column = divmod(global_column, TILE_SIZE)
        y, row_from_south = divmod(global_row, TILE_SIZE)
        requested_x = remap_flip(x, level) if flip else x
        if (requested_x, y) not in decoded:
            url = f"/layers/img-layer/{level}/{y}/{requested_x}/tile.png"
            response = client.get(url, {"flip": str(flip).lower()})
            assert response.status_code == 200, response.content
            assert response["Content-Type"] == "image/png"
            decoded[requested_x, y] = decode_rgba(response)
        image = decoded[requested_x, y]
        image_column = TILE_SIZE - 1 - column if flip else column
        image_row = TILE_SIZE - 1 - row_from_south
        value = expected_tile_pixel_value(
            data, level=level, global_column=global_column, global_row=global_row
        )
        index = reference_index(value, vmin=VMIN, vmax=VMAX)
        if index is None:
            continue
        assert image[image_row, image_column].tolist() == lut[index].tolist(), (
            global_column,
            global_row,
            value,
        )
        checked += 1
    assert checked >= 50


@pytest.mark.parametrize("level", range(LEVELS))
def test_pixels_without_data_are_transparent(client, image_layer, level):
    column = (NAN_COLS.start + NAN_COLS.stop) // 2
    row = (NAN_ROWS.start + NAN_ROWS.stop) // 2
    ra, dec = map_pixel_centre(column, row)
    scale = 180.0 / (TILE_SIZE * 2**level)
    x, tile_column = divmod(int((ra + 180.0) // scale), TILE_SIZE)
    y, row_from_south = divmod(int((dec + 90.0) // scale), TILE_SIZE)
    image = decode_rgba(client.get(f"/layers/img-layer/{level}/{y}/{x}/tile.png"))
    assert image[TILE_SIZE - 1 - row_from_south, tile_column, 3] == 0
    # The map's edge: beyond RA 90 there is no data either.
    assert image[:, :, 3].min() == 0
    assert image[:, :, 3].max() == 255


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ({"vmin": "-20", "vmax": "60"}, {"vmin": -20.0, "vmax": 60.0}),
        (
            {"vmin": "1", "vmax": "200", "log_norm": "true"},
            {"vmin": 1.0, "vmax": 200.0, "log_norm": True},
        ),
        (
            {"vmin": "1", "vmax": "200", "log_norm": "true", "clip": "true"},
            {"vmin": 1.0, "vmax": 200.0, "log_norm": True, "clip": True},
        ),
        (
            {"vmin": "0", "vmax": "120", "abs": "true"},
            {"vmin": 0.0, "vmax": 120.0, "absolute": True},
        ),
        ({"cmap": "RdBu_r"}, {"vmin": VMIN, "vmax": VMAX}),
    ],
)
def test_colour_parameters(client, image_layer, query, options):
    data = map_data(image_layer.provider["filename"])
    lut = lookup_table(query.get("cmap", CMAP))
    response = client.get(f"/layers/img-layer/{DEEPEST}/0/2/tile.png", query)
    assert response.status_code == 200
    image = decode_rgba(response)
    checked = 0
    # Tile x=2, y=0 at the deepest level: RA 0..90, Dec -90..0; the map reaches Dec -45.
    for image_row in range(0, 178, 7):
        for image_column in range(0, TILE_SIZE, 11):
            global_column = 2 * TILE_SIZE + image_column
            global_row = TILE_SIZE - 1 - image_row
            value = expected_tile_pixel_value(
                data, level=DEEPEST, global_column=global_column, global_row=global_row
            )
            in_nan_box = NAN_COLS.start <= 359 - image_column < NAN_COLS.stop
            assert math.isfinite(value) or in_nan_box
            index = reference_index(value, **options)
            if index is None:
                continue
            assert image[image_row, image_column].tolist() == lut[index].tolist()
            checked += 1
    assert checked > 500


@pytest.mark.parametrize(
    ("extension", "media_type", "pillow_format", "has_alpha"),
    [
        ("png", "image/png", "PNG", True),
        ("webp", "image/webp", "WEBP", True),
        ("jpg", "image/jpeg", "JPEG", False),
    ],
)
def test_tile_formats(client, image_layer, extension, media_type, pillow_format, has_alpha):
    response = client.get(f"/layers/img-layer/{DEEPEST}/0/2/tile.{extension}")
    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    image = Image.open(io.BytesIO(response.content))
    assert image.format == pillow_format
    assert image.size == (TILE_SIZE, TILE_SIZE)
    assert ("A" in image.mode or "transparency" in image.info) == has_alpha


@pytest.mark.parametrize(("function", "expected"), [("-", 1000.0), ("+", None), ("/", None)])
def test_combination_layer_tiles(client, make_car_map, db, function, expected):
    path = make_car_map(
        "iqu.fits",
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
        n_planes=2,
    )
    planes = [{"provider_type": "fits", "filename": str(path), "index": index} for index in (1, 0)]
    provider = {"provider_type": "fits_combination", "function": function, "providers": planes}
    make_layer("combined", path, provider=provider, vmin=-4999.0, vmax=5003.0)
    data = fits.getdata(path).astype(np.float64)
    combined = {"-": data[1] - data[0], "+": data[1] + data[0], "/": data[1] / data[0]}[function]
    image = decode_rgba(client.get(f"/layers/combined/{DEEPEST}/1/2/tile.png"))
    lut = lookup_table(CMAP)
    checked = 0
    # Tile x=2, y=1 at the deepest level: RA 0..90, Dec 0..90; the map reaches Dec 45.
    for image_row in range(182, TILE_SIZE, 9):
        for image_column in range(0, TILE_SIZE, 13):
            ra = (image_column + 0.5) * PIXEL_SCALE_DEG
            dec = 90 - (image_row + 0.5) * PIXEL_SCALE_DEG
            column, row = native_pixel_of_sky(ra, dec)
            value = combined[row, column]
            if expected is not None:
                assert value == pytest.approx(expected, abs=1e-3)
            index = reference_index(value, vmin=-4999.0, vmax=5003.0)
            if index is None:
                continue
            assert image[image_row, image_column].tolist() == lut[index].tolist()
            checked += 1
    assert checked > 400


@pytest.mark.parametrize(("level", "y", "x"), [(1, 0, 0), (1, 1, 3), (0, 0, 0)])
def test_tiles_without_any_finite_pixel_are_404(client, make_car_map, db, level, y, x):
    # A map covering only RA 0..90 at the deepest level: tiles elsewhere are empty.
    path = make_car_map("east.fits", nx=360, ny=360, pixel_scale_deg=0.25, ra_left_deg=90.0)
    make_layer("east", path)
    if (level, x) == (0, 0):
        response = client.get(f"/layers/east/{level}/{y}/1/tile.png")
        assert response.status_code == 200
    response = client.get(f"/layers/east/{level}/{y}/{x}/tile.png")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"detail"}
    assert body["detail"] in ("the tile is outside the map", "no data in this tile")


def test_etag_and_not_modified(client, image_layer):
    url = f"/layers/img-layer/{DEEPEST}/0/2/tile.png"
    first = client.get(url)
    etag = first["ETag"]
    assert etag.startswith('"')
    assert etag.endswith('"')
    assert "no-cache" in first["Cache-Control"]
    assert first["Cache-Control"].startswith("public")
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert client.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}').status_code == 304
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').status_code == 200
    variants = [
        client.get(url, {"vmin": "-10"})["ETag"],
        # With flip, x=3 shows the data of x=2 mirrored.
        client.get(url.replace("/0/2/", "/0/3/"), {"flip": "true"})["ETag"],
        client.get(url, {"cmap": "gray"})["ETag"],
        client.get(url.replace(".png", ".webp"))["ETag"],
        client.get(f"/layers/img-layer/{DEEPEST}/1/2/tile.png")["ETag"],
    ]
    assert len({etag, *variants}) == 6
    assert client.get(url)["ETag"] == etag


def test_same_bytes_from_cache_and_from_disk(client, image_layer):
    from django.core.cache import cache

    url = "/layers/img-layer/0/0/1/tile.png"
    cold = client.get(url, {"vmin": "-30", "vmax": "30"}).content
    warm = client.get(url, {"vmin": "-30", "vmax": "30"}).content
    recoloured = client.get(url, {"vmin": "-31", "vmax": "30"}).content
    cache.clear()
    assert client.get(url, {"vmin": "-30", "vmax": "30"}).content == cold == warm
    assert client.get(url, {"vmin": "-31", "vmax": "30"}).content == recoloured != cold


def test_stride_method(client, image_layer):
    data = map_data(image_layer.provider["filename"])
    mean = decode_rgba(client.get("/layers/img-layer/0/0/1/tile.png"))
    stride = decode_rgba(client.get("/layers/img-layer/0/0/1/tile.png", {"method": "stride"}))
    assert not np.array_equal(mean, stride)
    lut = lookup_table(CMAP)
    # The middle pixel of each 2 x 2 block is its north-east one (offset factor // 2 = 1).
    checked = 0
    # Level 0 rows 90..270 are Dec 45..-45, columns 0..180 RA 0..90.
    for image_row in range(92, 268, 7):
        for image_column in range(0, 180, 9):
            global_column = TILE_SIZE + image_column
            global_row = TILE_SIZE - 1 - image_row
            ra = -180.0 + (2 * global_column + 1.5) * PIXEL_SCALE_DEG
            dec = -90.0 + (2 * global_row + 1.5) * PIXEL_SCALE_DEG
            column, row = native_pixel_of_sky(ra, dec)
            index = reference_index(data[row, column], vmin=VMIN, vmax=VMAX)
            if index is None:
                continue
            assert stride[image_row, image_column].tolist() == lut[index].tolist()
            checked += 1
    assert checked > 300


# --- Histograms and colour bars ----------------------------------------------------


def test_histogram_of_explicit_range(client, image_layer):
    response = client.get("/histograms/data/img-layer")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"layer_id", "edges", "histogram", "vmin", "vmax"}
    assert body["layer_id"] == "img-layer"
    assert (body["vmin"], body["vmax"]) == (VMIN, VMAX)
    assert len(body["edges"]) == 129
    assert len(body["histogram"]) == 128
    assert np.allclose(body["edges"], np.linspace(4 * VMIN, 4 * VMAX, 129))
    values = map_data(image_layer.provider["filename"]).astype(np.float32)
    values = values[np.isfinite(values)]
    assert body["histogram"] == np.histogram(values, bins=np.array(body["edges"]))[0].tolist()
    assert sum(body["histogram"]) == values.size


def test_histogram_auto_range_is_percentiles(client, image_map, db):
    make_layer("auto", image_map, vmin=None, vmax=None)
    body = client.get("/histograms/data/auto").json()
    values = map_data(image_map).astype(np.float32)
    values = values[np.isfinite(values)].astype(np.float64)
    low, high = np.percentile(values, [1.0, 99.0])
    assert body["vmin"] == pytest.approx(low, rel=1e-5)
    assert body["vmax"] == pytest.approx(high, rel=1e-5)
    centre, half = (low + high) / 2, (high - low) / 2
    assert body["edges"][0] == pytest.approx(centre - 4 * half, rel=1e-5)
    assert body["edges"][-1] == pytest.approx(centre + 4 * half, rel=1e-5)
    counts = np.histogram(values.astype(np.float32), bins=np.array(body["edges"]))[0]
    assert body["histogram"] == counts.tolist()


def test_auto_layer_tiles_use_the_histogram_range(client, image_map, db):
    make_layer("auto", image_map, vmin=None, vmax=None)
    body = client.get("/histograms/data/auto").json()
    explicit = client.get(
        "/layers/auto/1/0/2/tile.png", {"vmin": repr(body["vmin"]), "vmax": repr(body["vmax"])}
    )
    assert client.get("/layers/auto/1/0/2/tile.png").content == explicit.content


@pytest.mark.parametrize("cmap", ["viridis", "RdBu_r", "magma"])
def test_colour_bar(client, cmap):
    response = client.get(f"/histograms/{cmap}.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    image = decode_rgba(response)
    assert image.shape == (8, 256, 4)
    lut = lookup_table(cmap)
    assert image[4, 0].tolist() == lut[0].tolist()
    assert image[4, -1].tolist() == lut[N_COLOURS - 1].tolist()


# --- Apertures ---------------------------------------------------------------------


def brute_aperture(data, ra_deg, dec_deg, radius_arcmin):
    ny, nx = data.shape
    columns, rows = np.meshgrid(np.arange(nx), np.arange(ny))
    ra, dec = map_pixel_centre(columns, rows)
    ra0, dec0, ra1, dec1 = map(np.radians, (ra_deg, dec_deg, ra, dec))
    cos_angle = np.sin(dec0) * np.sin(dec1) + np.cos(dec0) * np.cos(dec1) * np.cos(ra1 - ra0)
    angle_arcmin = np.degrees(np.arccos(np.clip(cos_angle, -1, 1))) * 60
    values = data[(angle_arcmin <= radius_arcmin) & np.isfinite(data)]
    return values


@pytest.mark.parametrize(
    ("ra", "dec", "radius"),
    [
        (10.0, 0.0, 30.0),
        (-89.5, 20.0, 90.0),
        (0.3, 44.0, 120.0),
        (32.4, -14.9, 400.0),
        (10.1, -3.3, 7.0),
    ],
)
def test_aperture_matches_brute_force_angles(client, image_layer, ra, dec, radius):
    response = client.get("/analysis/aperture/img-layer", {"ra": ra, "dec": dec, "radius": radius})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"layer_id", "ra", "dec", "radius", "mean", "std", "min", "max"}
    assert (body["layer_id"], body["ra"], body["dec"], body["radius"]) == (
        "img-layer",
        ra,
        dec,
        radius,
    )
    values = brute_aperture(
        map_data(image_layer.provider["filename"]).astype(np.float32).astype(np.float64),
        ra,
        dec,
        radius,
    )
    assert values.size > 0
    assert body["mean"] == pytest.approx(values.mean(), rel=1e-9, abs=1e-9)
    assert body["std"] == pytest.approx(values.std(), rel=1e-6, abs=1e-9)
    assert body["min"] == values.min()
    assert body["max"] == values.max()


def test_aperture_off_the_map_is_404(client, image_layer):
    response = client.get("/analysis/aperture/img-layer", {"ra": 150, "dec": 0, "radius": 10})
    assert response.status_code == 404
    assert "detail" in response.json()


# --- Cut-outs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "top", "bottom", "width_deg"),
    [
        (20, 10, 5, -5, 10),
        (10, 20, 5, -5, 10),
        (5, -5, 10.3, 0.7, 10),
        (10, 350, 0, -12, 20),
        (-10, 10, 44, 40, 20),
    ],
)
def test_cutout_fits_round_trips_the_wcs(client, image_layer, left, right, top, bottom, width_deg):
    url = f"/layers/img-layer/submap/{left}/{right}/{top}/{bottom}/image.fits"
    response = client.get(url)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/fits"
    source_path = image_layer.provider["filename"]
    source_header = fits.getheader(source_path)
    source_data = fits.getdata(source_path)
    with fits.open(io.BytesIO(response.content)) as hdus:
        header, data = hdus[0].header, hdus[0].data.astype(np.float64)
    assert header["BUNIT"] == "uK"
    assert header["TM_LAYER"] == "img-layer"
    assert data.shape[1] == round(width_deg / PIXEL_SCALE_DEG)
    assert data.shape[0] == pytest.approx(abs(top - bottom) / PIXEL_SCALE_DEG, abs=1)
    source_wcs, cut_wcs = WCS(source_header), WCS(header)
    rng = np.random.default_rng(3)
    ny, nx = data.shape
    cut_pixels = np.column_stack([rng.uniform(-0.4, nx - 0.6, 50), rng.uniform(-0.4, ny - 0.6, 50)])
    world = cut_wcs.wcs_pix2world(cut_pixels, 0)
    source_pixels = source_wcs.wcs_world2pix(world, 0)
    # The same sky position: same fractional pixel offset, same pixel value.
    assert np.allclose(np.mod(source_pixels - cut_pixels + 0.5, 1) - 0.5, 0, atol=0.01)
    for (cx, cy), (sx, sy) in zip(
        np.round(cut_pixels).astype(int), np.round(source_pixels).astype(int), strict=True
    ):
        assert data[cy, cx] == pytest.approx(
            source_data[sy, sx % source_data.shape[1]], nan_ok=True
        )


@pytest.mark.parametrize("flip", [False, True])
def test_cutout_image_orientation(client, image_layer, flip):
    response = client.get(
        "/layers/img-layer/submap/0/20/10/-10/image.png",
        {"vmin": "-150", "vmax": "150", "flip": str(flip).lower()},
    )
    assert response.status_code == 200
    image = decode_rgba(response)
    assert image.shape == (80, 80, 4)
    data = map_data(image_layer.provider["filename"])
    lut = lookup_table(CMAP)
    # Top row is north; with flip=false RA grows to the right.
    for image_row, image_column in [(0, 0), (0, 79), (79, 0), (40, 17)]:
        dec = 10 - (image_row + 0.5) * PIXEL_SCALE_DEG
        offset = (image_column + 0.5) * PIXEL_SCALE_DEG
        ra = 20 - offset if flip else offset
        column, row = native_pixel_of_sky(ra, dec)
        index = reference_index(data[row, column], vmin=VMIN, vmax=VMAX)
        assert index is not None
        assert image[image_row, image_column].tolist() == lut[index].tolist()


@pytest.mark.parametrize(
    ("extension", "media_type"), [("webp", "image/webp"), ("jpg", "image/jpeg")]
)
def test_cutout_image_formats(client, image_layer, extension, media_type):
    response = client.get(f"/layers/img-layer/submap/0/20/10/-10/image.{extension}")
    assert response.status_code == 200
    assert response["Content-Type"] == media_type
    assert Image.open(io.BytesIO(response.content)).size == (80, 80)


# --- Grants ------------------------------------------------------------------------

HIDDEN_URLS = [
    "/layers/{id}/1/0/2/tile.png",
    "/layers/{id}/1/0/2/tile.gif",
    "/layers/{id}/99/0/2/tile.png",
    "/layers/{id}/submap/0/20/10/-10/image.fits",
    "/histograms/data/{id}",
    "/analysis/aperture/{id}?ra=10&dec=0&radius=30",
]


@pytest.mark.parametrize("template", HIDDEN_URLS)
def test_restricted_layer_cached_for_a_grant_holder_stays_hidden(
    client, restricted_layer, template
):
    url = template.format(id="img-secret-layer")
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"})):
        allowed = client.get(url)
        if "gif" not in url and "/99/" not in url:
            assert allowed.status_code == 200
        if "tile.png" in url and allowed.status_code == 200:
            assert allowed["Cache-Control"].startswith("private")
            etag = allowed["ETag"]
    hidden = client.get(url)
    missing = client.get(template.format(id="no-such-layer"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "No layer with that id."}
    if "tile.png" in url and "/99/" not in url:
        assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 404


def test_grant_holder_via_user(client, restricted_layer, image_layer, django_user_model):
    user = django_user_model.objects.create_user("holder")
    restricted_layer.grant.users.add(user)
    client.force_login(user)
    response = client.get("/layers/img-secret-layer/1/0/2/tile.png")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-cache"
    public = client.get("/layers/img-layer/1/0/2/tile.png")
    assert public["Cache-Control"] == "public, no-cache"


# --- Bad input ------------------------------------------------------------------------

TILE = f"/layers/img-layer/{DEEPEST}/0/2/tile.png"
SUBMAP = "/layers/img-layer/submap/{}/{}/{}/{}/image.{}"
APERTURE = "/analysis/aperture/img-layer"


@pytest.mark.parametrize(
    ("url", "query", "status", "detail"),
    [
        ("/layers/nope/1/0/2/tile.png", {}, 404, "No layer with that id."),
        ("/layers/img-layer/2/0/2/tile.png", {}, 404, "level 2 is outside 0..1"),
        ("/layers/img-layer/1000000000/0/0/tile.png", {}, 404, "level 1000000000 is outside"),
        ("/layers/img-layer/-1/0/0/tile.png", {}, 404, "level -1 is outside"),
        ("/layers/img-layer/1/0/4/tile.png", {}, 404, "x 4 is outside 0..3"),
        ("/layers/img-layer/1/2/0/tile.png", {}, 404, "y 2 is outside 0..1"),
        ("/layers/img-layer/1/0/-1/tile.png", {}, 404, "x -1 is outside"),
        ("/layers/img-layer/1/0/0/tile.png", {"flip": "true"}, 200, None),
        ("/layers/img-layer/1/0/2/tile.png", {"flip": "true"}, 404, "outside the map"),
        ("/layers/img-layer/a/0/0/tile.png", {}, 400, "level must be an integer"),
        ("/layers/img-layer/1.0/0/0/tile.png", {}, 400, "level must be an integer"),
        ("/layers/img-layer/1/0/1e1/tile.png", {}, 400, "x must be an integer"),
        ("/layers/img-layer/1/٣/1/tile.png", {}, 400, "y must be an integer"),
        ("/layers/img-layer/1/0/" + "9" * 40 + "/tile.png", {}, 400, "x must be an integer"),
        ("/layers/img-layer/1/0/2/tile.gif", {}, 400, "unknown image format 'gif'"),
        ("/layers/img-layer/1/0/2/tile.PNG", {}, 400, "unknown image format"),
        ("/layers/img-layer/1/0/2/tile.png.bak", {}, 400, "unknown image format"),
        (TILE, {"vmin": "abc"}, 400, "vmin must be a finite number, got 'abc'"),
        (TILE, {"vmin": "nan"}, 400, "vmin must be a finite number"),
        (TILE, {"vmax": "inf"}, 400, "vmax must be a finite number"),
        (TILE, {"vmax": "1e999"}, 400, "vmax must be a finite number"),
        (TILE, {"vmin": "0x10"}, 400, "vmin must be a finite number"),
        (TILE, {"vmin": "5", "vmax": "5"}, 400, "vmin 5 must be less than vmax 5"),
        (TILE, {"vmin": "500"}, 400, "vmin 500 must be less than vmax 150"),
        (TILE, {"log_norm": "true"}, 400, "log_norm needs vmin > 0"),
        (TILE, {"log_norm": "true", "vmin": "0"}, 400, "log_norm needs vmin > 0"),
        (TILE, {"cmap": "not_a_cmap"}, 400, "unknown colour map 'not_a_cmap'"),
        (TILE, {"flip": "maybe"}, 400, "flip must be true or false"),
        (TILE, {"abs": "2"}, 400, "abs must be true or false"),
        (TILE, {"method": "median"}, 400, "method must be one of mean, stride"),
        (SUBMAP.format(0, 10, 5, -5, "tiff"), {}, 400, "unknown image format 'tiff'"),
        (SUBMAP.format("a", 10, 5, -5, "fits"), {}, 400, "left must be a finite number"),
        (SUBMAP.format(0, "nan", 5, -5, "fits"), {}, 400, "right must be a finite number"),
        (SUBMAP.format(0, 10, "inf", -5, "fits"), {}, 400, "top must be a finite number"),
        (SUBMAP.format(0, 10, 5, 5, "fits"), {}, 400, "no height"),
        (SUBMAP.format(10, 10, 5, -5, "fits"), {}, 400, "no width"),
        (SUBMAP.format(0, 10, 95, -5, "fits"), {}, 400, "outside -90..90"),
        (SUBMAP.format(150, 160, 5, -5, "fits"), {}, 404, "does not overlap"),
        (SUBMAP.format(0, 10, 5, -5, "png"), {"vmin": "9", "vmax": "1"}, 400, "less than"),
        (SUBMAP.format(-0.5, 10.25, 5.5, -5.75, "fits"), {}, 200, None),
        (APERTURE, {"dec": "0", "radius": "5"}, 400, "the query parameter ra is required"),
        (APERTURE, {"ra": "0", "dec": "x", "radius": "5"}, 400, "dec must be a finite number"),
        (APERTURE, {"ra": "0", "dec": "0", "radius": "-1"}, 400, "radius must be within 0..600"),
        (APERTURE, {"ra": "0", "dec": "0", "radius": "0"}, 400, "radius must be within"),
        (APERTURE, {"ra": "0", "dec": "0", "radius": "601"}, 400, "radius must be within"),
        (APERTURE, {"ra": "0", "dec": "91", "radius": "5"}, 400, "dec must be within -90..90"),
        (APERTURE, {"ra": "inf", "dec": "0", "radius": "5"}, 400, "ra must be a finite number"),
        ("/histograms/data/nope", {}, 404, "No layer with that id."),
        ("/histograms/nope.png", {}, 404, "unknown colour map 'nope'"),
    ],
)
def test_bad_input(client, image_layer, url, query, status, detail):
    response = client.get(url, query)
    assert response.status_code == status, response.content
    if detail is not None:
        assert response["Content-Type"] == "application/json"
        body = response.json()
        assert set(body) == {"detail"}
        assert detail in body["detail"]


def test_cutout_pixel_cap_is_checked_before_reading(client, image_layer):
    with override_settings(MAX_CUTOUT_PIXELS=1000):
        response = client.get(SUBMAP.format(0, 10, 5, -5, "fits"))
        assert response.status_code == 400
        assert "more than the limit of 1000" in response.json()["detail"]
        assert client.get(SUBMAP.format(0, 5, 1, -1, "fits")).status_code == 200


def test_cutout_across_ra_zero_is_as_wide_as_asked(client, image_layer):
    response = client.get(SUBMAP.format(355, 5, 1, -1, "fits"))
    data = fits.getdata(io.BytesIO(response.content))
    assert data.shape == (8, 40)


def test_aperture_radius_cap_comes_from_settings(client, image_layer):
    with override_settings(MAX_APERTURE_RADIUS_ARCMIN=10.0):
        response = client.get(APERTURE, {"ra": "10", "dec": "0", "radius": "11"})
        assert response.status_code == 400
        assert "0..10 arcmin" in response.json()["detail"]


def test_accept_header_does_not_turn_errors_into_406(client, image_layer):
    response = client.get("/layers/nope/1/0/2/tile.png", HTTP_ACCEPT="image/png")
    assert response.status_code == 404
    assert response.json() == {"detail": "No layer with that id."}
    ok = client.get(TILE, HTTP_ACCEPT="image/webp")
    assert ok.status_code == 200
    assert ok["Content-Type"] == "image/png"


def test_openapi_documents_the_image_endpoints(client):
    schema = client.get("/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    tile = paths["/layers/{layer_id}/{level}/{y}/{x}/tile.{ext}"]["get"]
    assert "image/png" in tile["responses"]["200"]["content"]
    assert "image/webp" in tile["responses"]["200"]["content"]
    assert {"400", "404", "304"} <= set(tile["responses"])
    names = {p["name"] for p in tile["parameters"]}
    assert {"cmap", "vmin", "vmax", "log_norm", "abs", "clip", "flip", "method"} <= names
    assert "/analysis/aperture/{layer_id}" in paths
    assert "/histograms/data/{layer_id}" in paths
