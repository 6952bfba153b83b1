"""The configuration example in our README imports as documented."""

import json
import re
from pathlib import Path

import pytest

from catalogs.models import Source
from maps.importers import import_config
from maps.models import Layer
from sky_regions.models import Box
from tests.support.fits import write_car_map

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_config() -> dict:
    section = README.read_text().split("## Configuration file", 1)[1]
    block = re.search(r"```json\n(.*?)```", section, re.DOTALL).group(1)
    return json.loads(block)


@pytest.mark.django_db
def test_readme_config_example_imports(tmp_path):
    options = {"nx": 40, "ny": 20, "pixel_scale_deg": 0.5 / 60}
    write_car_map(tmp_path / "coadd_f090_map.fits", n_planes=3, **options)
    write_car_map(tmp_path / "coadd_f090_sqrt_ivar.fits", bunit=None, **options)
    (tmp_path / "catalogues").mkdir()
    (tmp_path / "catalogues" / "clusters.csv").write_text(
        "name,ra,dec,snr,redshift\nACT-CL J0001.0-1234,0.25,-12.57,5.3,0.41\n"
    )
    path = tmp_path / "config.json"
    path.write_text(json.dumps(readme_config()))
    report = import_config(path)
    assert report.warnings == []
    snr = Layer.objects.get(layer_id="act-coadd-f090-snr")
    assert (snr.grant.name, snr.vmin, snr.provider["function"]) == ("act-internal", None, "*")
    assert Source.objects.get(name="ACT-CL J0001.0-1234").extra == {"snr": 5.3, "redshift": 0.41}
    assert Source.objects.count() == 2
    assert Box.objects.get().top_left_ra == -200.0
