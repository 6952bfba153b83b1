"""Product recognition for open/genconfig: names, units, colour maps and ranges, table-driven."""

import logging
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from maps.engine import inspect_plane
from maps.scanning import (
    config_for_files,
    name_parts,
    parse_temperature,
)
from tests.support.fits import car_header, write_car_map

SMALL = {"nx": 24, "ny": 12, "pixel_scale_deg": 1.0, "ra_left_deg": 12.0, "dec_bottom_deg": -6.0}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("uK", ("uK", 1.0, 1)),
        ("muK", ("uK", 1.0, 1)),
        ("microK", ("uK", 1.0, 1)),
        ("\u00b5K", ("uK", 1.0, 1)),
        ("\u03bcK", ("uK", 1.0, 1)),
        ("uK_CMB", ("uK", 1.0, 1)),
        ("K", ("K", 1e6, 1)),
        ("K_CMB", ("K", 1e6, 1)),
        ("Kcmb", ("K", 1e6, 1)),
        ("mK", ("mK", 1e3, 1)),
        ("uK^-2", ("uK^-2", 1.0, -2)),
        ("K^-2", ("K^-2", 1e6, -2)),
        ("1/uK^2", ("uK^-2", 1.0, -2)),
        ("K**-2", ("K^-2", 1e6, -2)),
        (" uK ", ("uK", 1.0, 1)),
        ("Jy/sr", None),
        ("hits", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_temperature(text, expected):
    parsed = parse_temperature(text)
    if expected is None:
        assert parsed is None
    else:
        assert (parsed.label, parsed.microkelvin_per_unit, parsed.power) == expected


@pytest.mark.parametrize(
    ("file_name", "map_name", "frequency"),
    [
        (
            "act-planck_dr4dr6_coadd_AA_daynight_f090_map.fits",
            "act-planck_dr4dr6_coadd_AA_daynight",
            "f090",
        ),
        (
            "act-planck_dr4dr6_coadd_AA_daynight_f150_ivar.fits",
            "act-planck_dr4dr6_coadd_AA_daynight",
            "f150",
        ),
        ("depth1_1494463440_pa5_f090_map.fits", "depth1_1494463440_pa5", "f090"),
        ("cmb_night_f220_map_srcfree.fits.gz", "cmb_night_srcfree", "f220"),
        ("planck_353.fits", "planck_353", None),
        ("map.fits", "map", None),
        ("so_sat_hits.fits.fz", "so_sat", None),
    ],
)
def test_name_parts(file_name, map_name, frequency):
    parts = name_parts(file_name)
    assert (parts.map_name, parts.frequency) == (map_name, frequency)


def _only_map_layers(config: dict) -> list[dict]:
    return [
        layer
        for group in config["map_groups"]
        for map_entry in group["maps"]
        for band in map_entry["bands"]
        for layer in band["layers"]
    ]


def _shown(layer: dict) -> tuple:
    return (layer["name"], layer["units"], layer["cmap"], layer["vmin"], layer["vmax"])


# (file name, builder options) -> [(name, units, cmap, vmin, vmax) per layer]
RULES = [
    (
        "iqu-uK",
        "act_f090_map.fits",
        {"n_planes": 3, "bunit": "uK"},
        [
            ("I", "uK", "RdBu_r", -500.0, 500.0),
            ("Q", "uK", "RdBu_r", -50.0, 50.0),
            ("U", "uK", "RdBu_r", -50.0, 50.0),
        ],
    ),
    (
        "iqu-K-scaled",
        "act_f090_map.fits",
        {"n_planes": 3, "bunit": "K"},
        [
            ("I", "K", "RdBu_r", -500e-6, 500e-6),
            ("Q", "K", "RdBu_r", -50e-6, 50e-6),
            ("U", "K", "RdBu_r", -50e-6, 50e-6),
        ],
    ),
    (
        "iqu-mK",
        "act_f090_map.fits",
        {"n_planes": 3, "bunit": "mK"},
        [
            ("I", "mK", "RdBu_r", -0.5, 0.5),
            ("Q", "mK", "RdBu_r", -0.05, 0.05),
            ("U", "mK", "RdBu_r", -0.05, 0.05),
        ],
    ),
    (
        "iqu-muK-spelling",
        "act_f090_map.fits",
        {"n_planes": 3, "bunit": "muK"},
        [
            ("I", "uK", "RdBu_r", -500.0, 500.0),
            ("Q", "uK", "RdBu_r", -50.0, 50.0),
            ("U", "uK", "RdBu_r", -50.0, 50.0),
        ],
    ),
    (
        "three-planes-no-name-hint",
        "coadd_f150.fits",
        {"n_planes": 3, "bunit": "microK"},
        [
            ("I", "uK", "RdBu_r", -500.0, 500.0),
            ("Q", "uK", "RdBu_r", -50.0, 50.0),
            ("U", "uK", "RdBu_r", -50.0, 50.0),
        ],
    ),
    (
        "intensity-only-map",
        "planck_f353_map.fits",
        {"bunit": "K_CMB"},
        [("I", "K", "RdBu_r", -500e-6, 500e-6)],
    ),
    (
        "2d-in-uK-without-name-hint",
        "something.fits",
        {"bunit": "uK"},
        [("I", "uK", "RdBu_r", -500.0, 500.0)],
    ),
    (
        "ivar",
        "act_f150_ivar.fits",
        {"bunit": "uK^-2"},
        [("IVar", "uK^-2", "viridis", "auto", "auto")],
    ),
    ("div", "act_f150_div.fits", {"bunit": "K^-2"}, [("IVar", "K^-2", "viridis", "auto", "auto")]),
    (
        "ivar-iqu",
        "act_f150_ivar.fits",
        {"n_planes": 3, "bunit": "uK^-2"},
        [
            ("I IVar", "uK^-2", "viridis", "auto", "auto"),
            ("Q IVar", "uK^-2", "viridis", "auto", "auto"),
            ("U IVar", "uK^-2", "viridis", "auto", "auto"),
        ],
    ),
    (
        "ivar-by-bunit",
        "depth_f150.fits",
        {"bunit": "uK^-2"},
        [("IVar", "uK^-2", "viridis", "auto", "auto")],
    ),
    ("hits", "act_f090_hits.fits", {"bunit": None}, [("Hits", "hits", "viridis", 0.0, "auto")]),
    (
        "hits-by-bunit",
        "coverage.fits",
        {"bunit": "hits"},
        [("Hits", "hits", "viridis", 0.0, "auto")],
    ),
    ("mask", "act_mask.fits", {"bunit": None}, [("Mask", "", "gray", 0.0, 1.0)]),
    (
        "weights-iqu",
        "sat_f090_weights.fits",
        {"n_planes": 3, "bunit": None},
        [
            ("I weights", "", "viridis", "auto", "auto"),
            ("Q weights", "", "viridis", "auto", "auto"),
            ("U weights", "", "viridis", "auto", "auto"),
        ],
    ),
    ("unknown", "something.fits", {"bunit": None}, [("image", "", "viridis", "auto", "auto")]),
    (
        "unknown-units",
        "dust.fits",
        {"bunit": "MJy/sr"},
        [("image", "MJy/sr", "viridis", "auto", "auto")],
    ),
    (
        "iqu-in-non-temperature-units",
        "dust_map.fits",
        {"n_planes": 3, "bunit": "MJy/sr"},
        [
            ("I", "MJy/sr", "RdBu_r", "auto", "auto"),
            ("Q", "MJy/sr", "RdBu_r", "auto", "auto"),
            ("U", "MJy/sr", "RdBu_r", "auto", "auto"),
        ],
    ),
    (
        "unknown-two-planes",
        "stack.fits",
        {"n_planes": 2, "bunit": None},
        [("plane 0", "", "viridis", "auto", "auto"), ("plane 1", "", "viridis", "auto", "auto")],
    ),
]


@pytest.mark.parametrize(
    ("file_name", "options", "expected"), [r[1:] for r in RULES], ids=[r[0] for r in RULES]
)
def test_recognition_rules(tmp_path, file_name, options, expected):
    path = write_car_map(tmp_path / file_name, **SMALL, **options)
    config, problems = config_for_files([path])
    assert problems == []
    assert [_shown(layer) for layer in _only_map_layers(config)] == expected


def test_auto_contrast_overrides_every_range(tmp_path):
    path = write_car_map(tmp_path / "act_f090_map.fits", **SMALL, n_planes=3)
    config, _ = config_for_files([path], auto_contrast=True)
    assert {(layer["vmin"], layer["vmax"]) for layer in _only_map_layers(config)} == {
        ("auto", "auto")
    }


@pytest.fixture
def scan_log(caplog):
    """Records of ``maps.scanning``; the project's LOGGING stops "maps" propagating to root."""
    logger = logging.getLogger("maps.scanning")
    logger.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.INFO)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


def _scale_pixels(path, factor):
    with fits.open(path, mode="update") as hdus:
        hdus[0].data = (hdus[0].data * factor).astype(np.float32)
    return path


@pytest.mark.parametrize(
    ("file_name", "factor", "options", "expected_units", "expected_range", "how"),
    [
        ("act_f090_map.fits", 1.0, {}, "uK", (-500.0, 500.0), "pixel values"),
        ("act_f090_map.fits", 1e-6, {}, "K", (-500e-6, 500e-6), "pixel values"),
        ("act_f090_map.fits", 1e-6, {"n_planes": 3}, "K", (-500e-6, 500e-6), "pixel values"),
        ("act_uK_f090_map.fits", 1e-6, {}, "uK", (-500.0, 500.0), "file name"),
        ("act_K_f090_map.fits", 1.0, {}, "K", (-500e-6, 500e-6), "file name"),
        ("act_f090_ivar.fits", 1e7, {}, "K^-2", ("auto", "auto"), "pixel values"),
        ("act_f090_ivar.fits", 1e-4, {}, "uK^-2", ("auto", "auto"), "pixel values"),
    ],
    ids=["uK-values", "K-values", "K-values-iqu", "uK-name", "K-name", "ivar-K", "ivar-uK"],
)
def test_missing_bunit_is_guessed_and_logged(
    tmp_path, scan_log, file_name, factor, options, expected_units, expected_range, how
):
    path = write_car_map(tmp_path / file_name, **SMALL, bunit=None, **options)
    if factor != 1.0:
        _scale_pixels(path, factor)
    # The synthetic sky is ~1e2 everywhere; ivar maps need positive values.
    if "ivar" in file_name:
        with fits.open(path, mode="update") as hdus:
            hdus[0].data = (np.abs(hdus[0].data) + 1.0).astype(np.float32) * np.float32(factor)
    config, problems = config_for_files([path])
    assert problems == []
    first = _only_map_layers(config)[0]
    assert first["units"] == expected_units
    assert (first["vmin"], first["vmax"]) == expected_range
    guesses = [r.getMessage() for r in scan_log.records if r.levelno == logging.WARNING]
    assert len(guesses) == 1
    assert f"{file_name}: no BUNIT in HDU 0; assuming {expected_units}" in guesses[0]
    assert f"a guess from the {how}" in guesses[0]


def test_declared_bunit_is_not_logged_as_a_guess(tmp_path, scan_log):
    path = write_car_map(tmp_path / "act_f090_map.fits", **SMALL, bunit="uK")
    other = write_car_map(tmp_path / "other.fits", **SMALL, bunit=None)
    config_for_files([path, other])
    assert [r.getMessage() for r in scan_log.records] == [
        f"{other}: HDU 0 not recognised as a known product; automatic contrast"
    ]


def test_readme_style_files_make_one_map_with_bands_by_frequency(tmp_path):
    prefix = "act-planck_dr4dr6_coadd_AA_daynight"
    paths = [
        write_car_map(tmp_path / f"{prefix}_f090_map.fits", **SMALL, n_planes=3),
        write_car_map(tmp_path / f"{prefix}_f150_map.fits", **SMALL, n_planes=3),
        write_car_map(tmp_path / f"{prefix}_f150_ivar.fits", **SMALL, bunit="uK^-2"),
    ]
    (tmp_path / "broken.fits").write_text("not a fits file" * 300)
    (tmp_path / "cat.json").write_text('[{"ra": 1, "dec": 2, "name": "a"}]')
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "bad.csv").write_text("name,ra\nx,1\n")
    config, problems = config_for_files(
        [*paths, tmp_path / "broken.fits", tmp_path / "missing.fits"],
        [tmp_path / "cat.json", tmp_path / "notes.txt", tmp_path / "bad.csv"],
    )
    assert problems == [
        f"{tmp_path / 'broken.fits'}: not a FITS file (it does not start with a SIMPLE card)",
        f"{tmp_path / 'missing.fits'}: no such file",
        f"{tmp_path / 'notes.txt'}: not a catalogue (expected one of .json, .csv, .tsv, .ecsv, "
        ".fits, .fit, .fits.gz, .xml, .vot, .votable, .tbl, .ipac)",
        f"{tmp_path / 'bad.csv'}: line 1: the header row must name the columns ra and dec "
        "(missing dec; the header has 2 columns)",
    ]
    (group,) = config["map_groups"]
    assert group["name"] == tmp_path.name
    (map_entry,) = group["maps"]
    assert map_entry["name"] == prefix
    assert [band["name"] for band in map_entry["bands"]] == ["f090", "f150"]
    assert [[layer["name"] for layer in band["layers"]] for band in map_entry["bands"]] == [
        ["I", "Q", "U"],
        ["I", "Q", "U", "IVar"],
    ]
    assert [[layer.get("stokes") for layer in band["layers"]] for band in map_entry["bands"]] == [
        ["I", "Q", "U"],
        ["I", "Q", "U", None],
    ]
    ivar = map_entry["bands"][1]["layers"][3]
    assert ivar["provider"] == {
        "provider_type": "fits",
        "filename": str(paths[2]),
        "hdu": 0,
        "index": None,
    }
    ids = [layer["layer_id"] for layer in _only_map_layers(config)]
    assert len(set(ids)) == len(ids) == 7
    assert all(len(i) <= 200 and i == i.lower() for i in ids)
    assert config["source_groups"] == [
        {
            "source_group_id": f"{group['map_group_id']}-cat",
            "name": "cat.json",
            "description": f"Catalogue {tmp_path / 'cat.json'} (1 sources)",
            "provider": {"file_type": "json", "filename": str(tmp_path / "cat.json")},
        }
    ]
    assert config["boxes"] == []


def test_files_of_every_storage_kind_are_scanned(tmp_path):
    variants = {
        "f32_map.fits": {},
        "f64_map.fits": {"dtype": "float64"},
        "i16_map.fits": {"dtype": "int16"},
        "packed_map.fits": {"compressed": True},
        "ext_map.fits": {"hdu_index": 2},
        "east_map.fits": {"cdelt1_negative": False},
    }
    paths = [
        write_car_map(tmp_path / name, **SMALL, **options) for name, options in variants.items()
    ]
    # A full-sky map whose CRPIX1 sits a whole turn away from the array.
    full = write_car_map(
        tmp_path / "full_map.fits",
        nx=72,
        ny=36,
        pixel_scale_deg=5.0,
        ra_left_deg=180.0,
        dec_bottom_deg=-90.0,
    )
    with fits.open(full, mode="update") as hdus:
        hdus[0].header["CRPIX1"] += 72
    config, problems = config_for_files([*paths, full])
    assert problems == []
    layers = _only_map_layers(config)
    assert len(layers) == len(variants) + 1
    assert [layer["provider"]["hdu"] for layer in layers] == [0, 0, 0, 1, 2, 0, 0]
    for layer in layers:
        provider = layer["provider"]
        inspect_plane(provider["filename"], hdu=provider["hdu"], index=provider["index"])


def test_several_image_hdus_name_their_layers_by_hdu(tmp_path):
    header = car_header(**SMALL)
    for key in ("NAXIS", "NAXIS1", "NAXIS2"):
        header.remove(key, ignore_missing=True)
    data = np.ones((SMALL["ny"], SMALL["nx"]), dtype=np.float32)
    ivar_header = header.copy()
    ivar_header["BUNIT"] = "uK^-2"
    hdus = fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(data=data, header=header, name="SIGNAL"),
            fits.ImageHDU(data=data, header=ivar_header, name="IVAR"),
        ]
    )
    path = tmp_path / "multi_f090.fits"
    hdus.writeto(path)
    config, problems = config_for_files([path])
    assert problems == []
    assert [_shown(layer) for layer in _only_map_layers(config)] == [
        ("I (HDU 1 SIGNAL)", "uK", "RdBu_r", -500.0, 500.0),
        ("IVar (HDU 2 IVAR)", "uK^-2", "viridis", "auto", "auto"),
    ]


def test_no_fits_files_gives_no_map_group(tmp_path):
    (tmp_path / "c.csv").write_text("name,ra,dec\na,1,2\n")
    config, problems = config_for_files([], [tmp_path / "c.csv"])
    assert (config["map_groups"], problems) == ([], [])
    assert config["source_groups"][0]["provider"]["file_type"] == "csv"


def test_scanning_does_not_import_django():
    code = "import sys, maps.scanning; print('django' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="."
    )
    assert result.stdout.strip() == "False"
