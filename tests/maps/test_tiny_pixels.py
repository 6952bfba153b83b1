"""Pixel scales at and beyond the level cap, at import and when scanning (issue 11.6)."""

import pytest

from maps.importers import ConfigError, import_config
from maps.models import Layer
from maps.scanning import config_for_files
from tests.maps.conftest import snapshot
from tests.support import badfits
from tests.support.configs import config_with_layers, layer_entry, write_json

TOO_FINE = (
    "pixel scale CDELT1 = -1e-07, CDELT2 = 1e-07 deg needs more than 20 zoom levels: "
    "pixels finer than 3.4e-07 deg are not served"
)


@pytest.mark.django_db
def test_a_tiny_pixel_map_imports_with_19_levels(tmp_path):
    badfits.tiny_pixel(tmp_path / "tiny.fits")
    config = config_with_layers(layer_entry("a", "tiny.fits"))
    import_config(write_json(tmp_path / "c.json", config))
    layer = Layer.objects.get(layer_id="a")
    assert (layer.tile_size, layer.number_of_levels) == (687, 19)


@pytest.mark.django_db
def test_a_map_finer_than_the_level_cap_is_refused_naming_file_and_cdelt(tmp_path):
    too_fine = badfits.too_fine_pixel(tmp_path / "fine.fits")
    config_path = write_json(tmp_path / "c.json", config_with_layers(layer_entry("a", "fine.fits")))
    before = snapshot()
    with pytest.raises(ConfigError) as caught:
        import_config(config_path)
    assert caught.value.problems == [
        f"{config_path}: map_groups[0].maps[0].bands[0].layers[0] (layer_id 'a'): "
        f"provider.filename: {too_fine}: {TOO_FINE}"
    ]
    assert snapshot() == before


def test_open_skips_a_map_finer_than_the_level_cap_and_says_why(tmp_path):
    too_fine = badfits.too_fine_pixel(tmp_path / "fine.fits")
    tiny = badfits.tiny_pixel(tmp_path / "tiny.fits")
    config, problems = config_for_files([too_fine, tiny])
    assert problems == [f"{too_fine}: {TOO_FINE}"]
    [group] = config["map_groups"]
    layers = [layer for m in group["maps"] for band in m["bands"] for layer in band["layers"]]
    assert [layer["provider"]["filename"] for layer in layers] == [str(tiny)]
