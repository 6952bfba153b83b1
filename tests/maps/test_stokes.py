"""Layers say which Stokes plane they are: configured, checked, stored."""

import pytest

from maps.importers import import_config
from maps.models import Layer
from tests.maps.conftest import counts
from tests.maps.test_import_errors import LAYER0, one_line_with, problems_for
from tests.support.configs import config_with_layers, layer_entry, write_json


def iqu_layers(path, **stokes_by_id):
    return [
        layer_entry(layer_id, str(path), index=index, **({"stokes": stokes} if stokes else {}))
        for index, (layer_id, stokes) in enumerate(stokes_by_id.items())
    ]


def test_configured_stokes_planes_are_stored(db, tmp_path, iqu_map):
    layers = iqu_layers(iqu_map, i="I", q="Q", u="U")
    import_config(write_json(tmp_path / "c.json", config_with_layers(*layers)))
    stored = dict(Layer.objects.values_list("layer_id", "stokes"))
    assert stored == {"i": "I", "q": "Q", "u": "U"}


def test_a_layer_without_stokes_is_none(db, tmp_path, small_map):
    config = config_with_layers(layer_entry("s", str(small_map)))
    import_config(write_json(tmp_path / "c.json", config))
    assert Layer.objects.get(layer_id="s").stokes == ""


def test_an_unknown_stokes_value_is_refused_naming_the_field(db, tmp_path, iqu_map):
    before = counts()
    layers = iqu_layers(iqu_map, i="V")
    path = write_json(tmp_path / "c.json", config_with_layers(*layers))
    assert problems_for(path) == [
        f"""{path}: {LAYER0} (layer_id 'i'): stokes: expected "I", "Q" or "U", found 'V'"""
    ]
    assert counts() == before


def test_a_non_string_stokes_is_refused(db, tmp_path, iqu_map):
    entry = layer_entry("i", str(iqu_map), index=0, stokes=1)
    problems = problems_for(write_json(tmp_path / "c.json", config_with_layers(entry)))
    line = one_line_with(problems, f"{LAYER0} (layer_id 'i'): stokes")
    assert line.endswith('expected "I", "Q" or "U", found the number 1')


def test_two_layers_of_a_band_may_not_be_the_same_stokes_plane(db, tmp_path, iqu_map):
    before = counts()
    layers = iqu_layers(iqu_map, i="I", q="Q", u="Q")
    path = write_json(tmp_path / "c.json", config_with_layers(*layers))
    band = "map_groups[0].maps[0].bands[0]"
    assert problems_for(path) == [
        f"{path}: {band}.layers[2] (layer_id 'u'): stokes: "
        f"'Q' is already the Stokes plane of {band}.layers[1] (layer_id 'q')"
    ]
    assert counts() == before


def test_polarisation_convention_is_configured_and_checked(db, tmp_path, iqu_map):
    q = layer_entry("q", str(iqu_map), index=1, stokes="Q", polarisation_convention="COSMO")
    import_config(write_json(tmp_path / "c.json", config_with_layers(q)))
    assert Layer.objects.get(layer_id="q").polarisation_convention == "COSMO"
    bad = layer_entry("q", str(iqu_map), index=1, polarisation_convention="cosmo")
    problems = problems_for(write_json(tmp_path / "bad.json", config_with_layers(bad)))
    line = one_line_with(problems, f"{LAYER0} (layer_id 'q'): polarisation_convention")
    assert line.endswith("""expected "IAU" or "COSMO", found 'cosmo'""")


@pytest.mark.parametrize(
    ("header_convention", "configured", "expected"),
    [(None, None, None), (None, "COSMO", "COSMO"), ("COSMO", "IAU", "COSMO"), ("IAU", None, "IAU")],
)
def test_q_and_u_layers_say_the_convention_their_file_or_config_declares(
    db, tmp_path, make_car_map, client, header_convention, configured, expected
):
    extra = {"POLCCONV": header_convention} if header_convention else {}
    path = make_car_map("iqu.fits", nx=20, ny=10, n_planes=3, extra_header=extra)
    convention = {"polarisation_convention": configured} if configured else {}
    layers = [
        layer_entry("i", str(path), index=0, stokes="I", **convention),
        layer_entry("q", str(path), index=1, stokes="Q", **convention),
        layer_entry("u", str(path), index=2, stokes="U", **convention),
    ]
    import_config(write_json(tmp_path / "c.json", config_with_layers(*layers)))
    answers = {i: client.get(f"/layers/{i}").json()["polarisation_convention"] for i in "iqu"}
    assert answers == {"i": None, "q": expected, "u": expected}


def test_a_q_layer_whose_file_is_gone_still_answers(db, tmp_path, make_car_map, client):
    path = make_car_map("iqu.fits", nx=20, ny=10, n_planes=3, extra_header={"POLCCONV": "COSMO"})
    entry = layer_entry("q", str(path), index=1, stokes="Q", polarisation_convention="IAU")
    import_config(write_json(tmp_path / "c.json", config_with_layers(entry)))
    path.unlink()
    response = client.get("/layers/q")
    assert response.status_code == 200
    assert response.json()["polarisation_convention"] == "IAU"
