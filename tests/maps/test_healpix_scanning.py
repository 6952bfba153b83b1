"""``open``/``genconfig`` recognise HEALPix files: one layer per column, healpy-written files."""

import warnings

import healpy as hp
import numpy as np
import pytest

from maps.scanning import config_for_files


def write(path, maps, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp.write_map(str(path), maps, overwrite=True, dtype=np.float32, **kwargs)
    return path


def _maps(config):
    return config["map_groups"][0]["maps"]


def test_planck_file_gives_named_map_band_and_stokes_layers(tmp_path):
    nside = 16
    columns = np.zeros((4, 12 * nside**2), dtype=np.float32)
    path = write(
        tmp_path / "HFI_SkyMap_143_2048_R3.01_full.fits",
        list(columns),
        column_names=["I_STOKES", "Q_STOKES", "U_STOKES", "II_COV"],
        column_units=["K_CMB", "K_CMB", "K_CMB", "K_CMB^2"],
        coord="G",
        nest=True,
    )
    config, problems = config_for_files([path])
    assert problems == []
    (map_entry,) = _maps(config)
    assert map_entry["name"] == "Planck HFI R3.01 full"
    (band,) = map_entry["bands"]
    assert band["name"] == "143 GHz"
    shown = [
        (layer["name"], layer.get("stokes"), layer["units"], layer["vmin"], layer["vmax"])
        for layer in band["layers"]
    ]
    # K_CMB shown in uK (issue 15): the provider scales the values by 1e6 (K^2: 1e12).
    assert shown == [
        ("I", "I", "uK", -500.0, 500.0),
        ("Q", "Q", "uK", -50.0, 50.0),
        ("U", "U", "uK", -50.0, 50.0),
        ("II_COV", None, "uK^2", "auto", "auto"),
    ]
    assert [layer["provider"] for layer in band["layers"]] == [
        {"provider_type": "healpix", "filename": str(path), "hdu": 1, "field": name, "scale": scale}
        for name, scale in (
            ("I_STOKES", 1e6),
            ("Q_STOKES", 1e6),
            ("U_STOKES", 1e6),
            ("II_COV", 1e12),
        )
    ]
    assert band["layers"][1]["polarisation_convention"] == "COSMO"
    assert "HEALPix NSIDE 16 NESTED, galactic" in band["layers"][0]["description"]


@pytest.mark.parametrize(
    ("options", "described"),
    [({}, "NSIDE 32 RING, equatorial"), ({"nest": True}, "NSIDE 32 NESTED, equatorial")],
)
def test_healpy_iqu_map_in_uk(tmp_path, options, described):
    nside = 32
    maps = list(np.zeros((3, 12 * nside**2), dtype=np.float32))
    path = write(tmp_path / "sat_f090_map.fits", maps, column_units="uK", **options)
    config, problems = config_for_files([path])
    assert problems == []
    (map_entry,) = _maps(config)
    assert (map_entry["name"], map_entry["bands"][0]["name"]) == ("sat", "f090")
    layers = map_entry["bands"][0]["layers"]
    assert [(layer["stokes"], layer["units"], layer["vmax"]) for layer in layers] == [
        ("I", "uK", 500.0),
        ("Q", "uK", 50.0),
        ("U", "uK", 50.0),
    ]
    # healpy's default column names.
    assert [layer["provider"]["field"] for layer in layers] == [
        "TEMPERATURE",
        "Q_POLARISATION",
        "U_POLARISATION",
    ]
    assert described in layers[0]["description"]


def test_partial_map_and_hits_column(tmp_path):
    nside = 64
    values = np.full(12 * nside**2, hp.UNSEEN, dtype=np.float32)
    values[1000:2000] = 3.0  # indices above 255: healpy cannot write an int8 PIXEL column
    path = write(tmp_path / "patch_hits.fits", values, partial=True, column_names=["HITS"])
    config, problems = config_for_files([path])
    assert problems == []
    (layer,) = _maps(config)[0]["bands"][0]["layers"]
    assert (layer["name"], layer["units"], layer["vmin"], layer["cmap"]) == (
        "Hits",
        "hits",
        0.0,
        "viridis",
    )
    assert layer["provider"]["field"] == "HITS"


def test_bad_healpix_table_is_a_one_line_problem(tmp_path):
    path = write(tmp_path / "m.fits", np.zeros(12 * 4**2, dtype=np.float32))
    from astropy.io import fits

    with fits.open(path, mode="update") as hdus:
        hdus[1].header["NSIDE"] = 3
    config, problems = config_for_files([path])
    assert config["map_groups"] == []
    assert problems == [f"{path}: NSIDE = 3 is not a power of two"]
