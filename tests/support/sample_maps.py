"""Small CAR maps covering the geometries the engine must handle, as ``write_car_map`` options."""

SCALE = 1 / 32  # 360-pixel tiles, 5 levels: block factors up to 16
FULL_SKY_SCALE = 360 / 4096  # 256-pixel tiles, 4 levels

MAPS = {
    "act_like": dict(
        nx=400, ny=200, pixel_scale_deg=SCALE, ra_left_deg=10.0, dec_bottom_deg=-3.0,
        nan_box=(slice(50, 80), slice(100, 160)),
    ),
    "ra_increasing_offset": dict(
        nx=300, ny=150, pixel_scale_deg=SCALE, ra_left_deg=-7.3, dec_bottom_deg=2.2,
        cdelt1_negative=False,
    ),
    "across_ra_180": dict(
        nx=400, ny=120, pixel_scale_deg=SCALE, ra_left_deg=-175.0, dec_bottom_deg=-20.0,
    ),
    "full_sky": dict(
        nx=4096, ny=2048, pixel_scale_deg=FULL_SKY_SCALE, ra_left_deg=180.0,
        dec_bottom_deg=-90.0, nan_box=(slice(900, 1200), slice(0, 500)),
    ),
    "three_planes": dict(
        nx=200, ny=100, pixel_scale_deg=SCALE, ra_left_deg=40.0, dec_bottom_deg=-50.0,
        n_planes=3,
    ),
    "scaled_int16": dict(
        nx=200, ny=100, pixel_scale_deg=SCALE, ra_left_deg=0.0, dec_bottom_deg=0.0,
        dtype="int16",
    ),
    "compressed": dict(
        nx=200, ny=100, pixel_scale_deg=SCALE, ra_left_deg=5.0, dec_bottom_deg=5.0,
        compressed=True, hdu_index=1, nan_box=(slice(10, 30), slice(10, 50)),
    ),
    "crpix1_wrapped": dict(
        nx=200, ny=100, pixel_scale_deg=SCALE, ra_left_deg=-60.0, dec_bottom_deg=10.0,
        extra_header={"CRPIX1": 0.5 + 60.0 / SCALE * -1 + 3 * 360 / SCALE},
    ),
    "not_dividing_the_sky": dict(
        # Edges off any simple fraction, so no pixel centre sits on a rounding tie.
        nx=300, ny=200, pixel_scale_deg=0.7 / 60, ra_left_deg=20.0031, dec_bottom_deg=-10.0017,
    ),
    "dec_decreasing": dict(
        nx=200, ny=100, pixel_scale_deg=SCALE, ra_left_deg=30.0, dec_bottom_deg=-40.0,
        extra_header={"CDELT2": -SCALE, "CRPIX2": 0.5 + (-40.0 + 100 * SCALE) / SCALE},
    ),
}  # fmt: skip


def provider_for(path, options):
    """The provider of the last plane of a map written from ``MAPS[...]`` options."""
    provider = {"provider_type": "fits", "filename": str(path)}
    if options.get("hdu_index"):
        provider["hdu"] = options["hdu_index"]
    if options.get("n_planes"):
        provider["index"] = options["n_planes"] - 1
    return provider
