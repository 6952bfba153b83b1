"""import_config and genconfig: parse, delegate, report; genconfig output round-trips."""

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalogs.models import Source
from maps.models import Layer
from tests.maps.conftest import counts, snapshot
from tests.support.configs import config_with_layers, layer_entry, write_json
from tests.support.fits import write_car_map

REPO = Path(__file__).resolve().parents[2]
SMALL = {"nx": 24, "ny": 12, "pixel_scale_deg": 0.5 / 60 * 50, "dec_bottom_deg": -6.0}


def run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def product_files(tmp_path):
    folder = tmp_path / "act"
    folder.mkdir()
    prefix = "act-planck_dr4dr6_coadd_AA_daynight"
    write_car_map(folder / f"{prefix}_f090_map.fits", **SMALL, n_planes=3)
    write_car_map(folder / f"{prefix}_f150_map.fits", **SMALL, n_planes=3, bunit="K")
    write_car_map(folder / f"{prefix}_f150_ivar.fits", **SMALL, bunit="uK^-2")
    write_car_map(folder / "act_mask.fits", **SMALL, bunit=None)
    (folder / "sources.csv").write_text("name,ra,dec,snr\na,1,2,5\nb,3,-4,7.5\n")
    (folder / "junk.fits").write_text("nothing" * 500)
    return folder


@pytest.mark.django_db
def test_genconfig_output_imports_and_round_trips(product_files, tmp_path):
    output = tmp_path / "generated.json"
    files = sorted(str(p) for p in product_files.iterdir())
    out, err = run("genconfig", *files, "--output", str(output))
    junk = product_files / "junk.fits"
    assert err == f"Skipped {junk}: not a FITS file (it does not start with a SIMPLE card)\n"
    assert out.startswith(f"Wrote {output}: 8 layers, 1 catalogue(s)")
    config = json.loads(output.read_text())

    out, _ = run("import_config", str(output))
    assert out == (
        f"Imported {output}: map groups: 1 created, 0 updated, 0 unchanged; "
        "maps: 2 created, 0 updated, 0 unchanged; bands: 3 created, 0 updated, 0 unchanged; "
        "layers: 8 created, 0 updated, 0 unchanged; "
        "source groups: 1 created, 0 updated, 0 unchanged; sources: 2 imported\n"
    )
    assert counts()["Layer"] == 8
    assert Source.objects.count() == 2
    for group in config["map_groups"]:
        for map_entry in group["maps"]:
            for band in map_entry["bands"]:
                for entry in band["layers"]:
                    layer = Layer.objects.get(layer_id=entry["layer_id"])
                    assert layer.band.band_id == band["band_id"]
                    assert layer.band.map.map_id == map_entry["map_id"]
                    assert (layer.name, layer.units, layer.cmap) == (
                        entry["name"],
                        entry["units"],
                        entry["cmap"],
                    )
                    for key in ("vmin", "vmax"):
                        expected = None if entry[key] == "auto" else entry[key]
                        assert getattr(layer, key) == expected
                    assert layer.provider == entry["provider"]
                    assert layer.tile_size > 0

    before = snapshot()
    out, _ = run("import_config", str(output))
    assert "layers: 0 created, 0 updated, 8 unchanged" in out
    assert snapshot() == before

    again = tmp_path / "again.json"
    run("genconfig", *files, "--output", str(again))
    assert again.read_text() == output.read_text()


@pytest.mark.django_db
def test_genconfig_recognises_products(product_files):
    out, _ = run(
        "genconfig", str(product_files / "act_mask.fits"), str(product_files / "sources.csv")
    )
    config = json.loads(out)
    (layer,) = config["map_groups"][0]["maps"][0]["bands"][0]["layers"]
    assert (layer["name"], layer["cmap"], layer["vmin"], layer["vmax"]) == (
        "Mask",
        "gray",
        0.0,
        1.0,
    )
    assert config["source_groups"][0]["provider"] == {
        "file_type": "csv",
        "filename": str(product_files / "sources.csv"),
    }


def test_genconfig_auto_contrast(product_files):
    out, _ = run("genconfig", str(product_files / "act_mask.fits"), "--auto-contrast")
    layer = json.loads(out)["map_groups"][0]["maps"][0]["bands"][0]["layers"][0]
    assert (layer["vmin"], layer["vmax"]) == ("auto", "auto")


def test_genconfig_with_nothing_usable(product_files, tmp_path):
    output = tmp_path / "out.json"
    with pytest.raises(CommandError, match="none of the files could be used"):
        run("genconfig", str(product_files / "junk.fits"), "--output", str(output))
    assert not output.exists()


@pytest.mark.django_db
def test_import_config_command_lists_every_problem(tmp_path):
    config = config_with_layers(layer_entry("a", "one.fits"), layer_entry("b", "two.fits"))
    path = write_json(tmp_path / "config.json", config)
    with pytest.raises(CommandError) as caught:
        run("import_config", str(path))
    lines = str(caught.value).splitlines()
    assert lines[0] == f"{path}: not imported, 2 problems:"
    assert lines[1].endswith(f"provider.filename: {tmp_path / 'one.fits'}: no such file")
    assert lines[2].endswith(f"provider.filename: {tmp_path / 'two.fits'}: no such file")
    assert counts()["Layer"] == 0


@pytest.mark.django_db
def test_import_config_command_prints_warnings(tmp_path):
    write_car_map(tmp_path / "m.fits", **SMALL)
    config = config_with_layers(layer_entry("a", "m.fits", colour="red"))
    out, err = run("import_config", str(write_json(tmp_path / "c.json", config)))
    assert "unknown field 'colour' ignored" in err
    assert "layers: 1 created, 0 updated, 0 unchanged" in out


def test_manage_py_import_config_fails_cleanly(tmp_path):
    """A bad config from the shell: exit status 1, the problem, no traceback."""
    path = write_json(tmp_path / "c.json", {"boxes": [{"name": "x"}]})
    env = {**os.environ, "TILEMAKER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "manage.py", "import_config", str(path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"CommandError: {path}: not imported, 4 problems:" in result.stderr
    assert f"{path}: boxes[0] (box 'x'): top_left_ra: missing" in result.stderr
