"""A good import: the original example as is, derived geometry, idempotency, atomicity."""

import json
import shutil

import pytest
from django.core.exceptions import ValidationError

from catalogs.models import Source, SourceGroup
from maps import importers
from maps.importers import ConfigError, import_config
from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Grant, Layer, Map, MapGroup
from sky_regions.models import Box
from tests.maps.conftest import DATA, counts, snapshot
from tests.support.configs import config_with_layers, layer_entry, write_json
from tests.support.fits import write_car_map

ARCMIN = 1 / 60
README_FILES = {
    "act-planck_dr4dr6_coadd_AA_daynight_f090_map.fits": 3,
    "act-planck_dr4dr6_coadd_AA_daynight_f150_map.fits": 3,
    "act-planck_dr4dr6_coadd_AA_daynight_f150_ivar.fits": None,
}


@pytest.fixture
def readme_config(tmp_path):
    """The original README's example config, verbatim, next to tiny ACT-geometry files."""
    for name, planes in README_FILES.items():
        write_car_map(
            tmp_path / name,
            nx=40,
            ny=20,
            pixel_scale_deg=0.5 * ARCMIN,
            ra_left_deg=10.0,
            dec_bottom_deg=-5.0,
            n_planes=planes,
        )
    path = tmp_path / "config.json"
    shutil.copy(DATA / "original_readme_config.json", path)
    return path


@pytest.mark.django_db
def test_original_readme_example_imports_unchanged(readme_config):
    report = import_config(readme_config)
    assert counts() == {
        "Grant": 1,
        "MapGroup": 1,
        "Map": 1,
        "Band": 2,
        "Layer": 7,
        "SourceGroup": 0,
        "Source": 0,
        "Box": 0,
    }
    assert report.counts["layers"].created == 7
    group = MapGroup.objects.get()
    assert (group.map_group_id, group.name) == ("act-dr6-02", "ACT DR6.02")
    assert Map.objects.get().map_id == "1"
    assert list(Band.objects.values_list("band_id", "name", "position")) == [
        ("1", "f090", 0),
        ("2", "f150", 1),
    ]
    rows = {
        layer.layer_id: (layer.name, layer.units, layer.vmin, layer.vmax, layer.cmap, layer.grant)
        for layer in Layer.objects.select_related("grant")
    }
    ivar_grant = Grant.objects.get(name="ivaraccess")
    assert rows == {
        "f090I": ("I", "uK", -500, 500, "RdBu_r", None),
        "f090Q": ("Q", "uK", -50, 50, "RdBu_r", None),
        "f090U": ("U", "uK", -50, 50, "RdBu_r", None),
        "f150I": ("I", "uK", -500, 500, "RdBu_r", None),
        "f150Q": ("Q", "uK", -50, 50, "RdBu_r", None),
        "f150U": ("U", "uK", -50, 50, "RdBu_r", None),
        "f150Iivar": ("I (ivar)", "uK^-2", 1e5, 1e10, "viridis", ivar_grant),
    }
    ivar = Layer.objects.get(layer_id="f150Iivar")
    assert ivar.provider == {
        "provider_type": "fits",
        "filename": str(
            readme_config.parent.resolve()
            / next(iter(README_FILES)).replace("f090_map", "f150_ivar")
        ),
        "hdu": 0,
        "index": 0,
    }
    assert (ivar.tile_size, ivar.number_of_levels) == (675, 6)
    assert Layer.objects.get(layer_id="f150U").provider["index"] == 2


def _act_header_map(tmp_path, name, *, arcmin, nx, ny, ra_left_deg, dec_bottom_deg, **options):
    return write_car_map(
        tmp_path / name,
        nx=nx,
        ny=ny,
        pixel_scale_deg=arcmin * ARCMIN,
        ra_left_deg=ra_left_deg,
        dec_bottom_deg=dec_bottom_deg,
        **options,
    )


# (pixel scale in arcmin, nx, ny, RA of the left edge, Dec of the bottom edge, extra options)
# -> (tile_size, number_of_levels, left, right, top, bottom), worked out by hand from SPEC 5:
# 0.5': NY = 21600 -> 10800 -> 5400 -> 2700 -> 1350 -> 675 (odd), NX / 675 = 64 -> 6 levels.
# 2':   NY = 5400 -> 675 after three halvings, NX / 675 = 16 -> 4 levels.
# 1':   NY = 10800 -> 675, NX / 675 = 32 -> 5 levels.
# 360/1024 deg: NX = 1024, NY = 512, both multiples of 256 -> 256 px, log2(1024/256) = 2.
GEOMETRY = [
    ((0.5, 40, 20, 10.0, -5.0, {}), (675, 6, 10 - 40 / 120, 10.0, -5 + 20 / 120, -5.0)),
    ((2.0, 30, 15, 100.0, 10.0, {}), (675, 4, 99.0, 100.0, 10.5, 10.0)),
    ((1.0, 60, 30, -20.0, -60.0, {}), (675, 5, -21.0, -20.0, -59.5, -60.0)),
    (
        (0.5, 40, 20, 10.0, -5.0, {"cdelt1_negative": False}),
        (675, 6, 10.0, 10 + 40 / 120, -5 + 20 / 120, -5.0),
    ),
    (
        (0.5, 40, 20, 10.0, -5.0, {"n_planes": 3}),
        (675, 6, 10 - 40 / 120, 10.0, -5 + 20 / 120, -5.0),
    ),
    (
        (0.5, 40, 20, 10.0, -5.0, {"dtype": "int16", "hdu_index": 2}),
        (675, 6, 10 - 40 / 120, 10.0, -5 + 20 / 120, -5.0),
    ),
    (
        (0.5, 40, 20, 10.0, -5.0, {"dtype": "float64", "compressed": True}),
        (675, 6, 10 - 40 / 120, 10.0, -5 + 20 / 120, -5.0),
    ),
    (
        (360 * 60 / 1024, 16, 8, 45.0, 0.0, {}),
        (256, 2, 45 - 16 * 360 / 1024, 45.0, 8 * 180 / 512, 0.0),
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("geometry", "expected"),
    GEOMETRY,
    ids=["act-0.5", "act-2", "act-1", "cdelt1-positive", "3d", "int16-hdu2", "compressed", "256"],
)
def test_derived_fields_match_hand_computed_values(tmp_path, geometry, expected):
    arcmin, nx, ny, ra_left, dec_bottom, options = geometry
    path = _act_header_map(
        tmp_path,
        "m.fits",
        arcmin=arcmin,
        nx=nx,
        ny=ny,
        ra_left_deg=ra_left,
        dec_bottom_deg=dec_bottom,
        **options,
    )
    hdu = options.get("hdu_index", 1 if options.get("compressed") else 0)
    index = 1 if options.get("n_planes") else None
    entry = layer_entry("a", str(path), hdu=hdu, index=index)
    import_config(write_json(tmp_path / "c.json", config_with_layers(entry)))
    layer = Layer.objects.get()
    tile_size, levels, left, right, top, bottom = expected
    assert (layer.tile_size, layer.number_of_levels) == (tile_size, levels)
    assert layer.bounding_left == pytest.approx(left, abs=1e-9)
    assert layer.bounding_right == pytest.approx(right, abs=1e-9)
    assert layer.bounding_top == pytest.approx(top, abs=1e-9)
    assert layer.bounding_bottom == pytest.approx(bottom, abs=1e-9)
    assert layer.bounding_top > layer.bounding_bottom


@pytest.mark.django_db
def test_reimport_changes_nothing(readme_config):
    import_config(readme_config)
    before = snapshot()
    report = import_config(readme_config)
    assert snapshot() == before
    assert {kind: (c.created, c.updated) for kind, c in report.counts.items()} == {
        kind: (0, 0) for kind in report.counts
    }
    assert report.counts["layers"].unchanged == 7


@pytest.mark.django_db
def test_changed_name_updates_in_place(readme_config):
    import_config(readme_config)
    pk_before = Layer.objects.get(layer_id="f090Q").pk
    data = json.loads(readme_config.read_text())
    data["map_groups"][0]["maps"][0]["bands"][0]["layers"][1]["name"] = "Q (renamed)"
    readme_config.write_text(json.dumps(data))
    before = counts()
    report = import_config(readme_config)
    assert counts() == before
    layer = Layer.objects.get(layer_id="f090Q")
    assert (layer.pk, layer.name) == (pk_before, "Q (renamed)")
    assert (report.counts["layers"].updated, report.counts["layers"].unchanged) == (1, 6)


@pytest.mark.django_db
def test_changed_provider_rereads_the_geometry(tmp_path):
    fine = write_car_map(tmp_path / "fine.fits", nx=40, ny=20, pixel_scale_deg=0.5 * ARCMIN)
    coarse = write_car_map(tmp_path / "coarse.fits", nx=10, ny=5, pixel_scale_deg=2 * ARCMIN)
    config_path = tmp_path / "c.json"
    import_config(write_json(config_path, config_with_layers(layer_entry("a", "fine.fits"))))
    assert Layer.objects.get().number_of_levels == 6
    import_config(write_json(config_path, config_with_layers(layer_entry("a", "coarse.fits"))))
    layer = Layer.objects.get()
    assert (layer.number_of_levels, layer.provider["filename"]) == (4, str(coarse.resolve()))
    assert fine.exists()


@pytest.mark.django_db
def test_regenerated_file_updates_geometry_even_with_the_same_provider(tmp_path):
    path = write_car_map(tmp_path / "m.fits", nx=40, ny=20, pixel_scale_deg=0.5 * ARCMIN)
    config_path = write_json(tmp_path / "c.json", config_with_layers(layer_entry("a", "m.fits")))
    import_config(config_path)
    write_car_map(path, nx=10, ny=5, pixel_scale_deg=2 * ARCMIN)
    report = import_config(config_path)
    assert Layer.objects.get().number_of_levels == 4
    assert report.counts["layers"].updated == 1


@pytest.mark.django_db
def test_group_without_id_is_matched_again_by_its_derived_id(readme_config):
    import_config(readme_config)
    import_config(readme_config)
    assert list(MapGroup.objects.values_list("map_group_id", flat=True)) == ["act-dr6-02"]


@pytest.mark.django_db
def test_groups_without_ids_sharing_a_name_get_distinct_stable_ids(tmp_path, small_map):
    config = {
        "map_groups": [{"name": "Same", "maps": []}, {"name": "Same", "maps": []}],
        "source_groups": [{"name": "Cat", "sources": []}, {"name": "Cat", "sources": []}],
    }
    path = write_json(tmp_path / "c.json", config)
    import_config(path)
    import_config(path)
    assert list(MapGroup.objects.values_list("map_group_id", flat=True)) == ["same", "same-1"]
    assert list(SourceGroup.objects.values_list("source_group_id", flat=True)) == ["cat", "cat-1"]


@pytest.mark.django_db
def test_objects_missing_from_the_config_are_left_alone(tmp_path, small_map):
    path = tmp_path / "c.json"
    both = config_with_layers(layer_entry("a", "small.fits"), layer_entry("b", "small.fits"))
    import_config(write_json(path, both))
    import_config(write_json(path, config_with_layers(layer_entry("a", "small.fits"))))
    assert sorted(Layer.objects.values_list("layer_id", flat=True)) == ["a", "b"]


@pytest.mark.django_db
def test_the_config_decides_grants_and_grants_are_created_by_name(tmp_path, small_map):
    path = tmp_path / "c.json"
    config = config_with_layers(layer_entry("a", "small.fits", grant="secret"))
    config["map_groups"][0]["grant"] = "team"
    report = import_config(write_json(path, config))
    assert report.counts["grants"].created == 2
    assert Layer.objects.get().grant.name == "secret"
    assert MapGroup.objects.get().grant.name == "team"
    import_config(write_json(path, config_with_layers(layer_entry("a", "small.fits"))))
    assert Layer.objects.get().grant is None
    assert MapGroup.objects.get().grant is None
    assert sorted(Grant.objects.values_list("name", flat=True)) == ["secret", "team"]


@pytest.mark.django_db
def test_positions_follow_the_config_order(tmp_path, small_map):
    path = tmp_path / "c.json"
    import_config(
        write_json(
            path,
            config_with_layers(*(layer_entry(name, "small.fits") for name in ("c", "a", "b"))),
        )
    )
    assert list(Layer.objects.order_by("position").values_list("layer_id", flat=True)) == [
        "c",
        "a",
        "b",
    ]


@pytest.mark.django_db
def test_a_failing_import_with_a_valid_first_half_changes_nothing(readme_config):
    import_config(readme_config)
    before = snapshot()
    data = json.loads(readme_config.read_text())
    data["map_groups"][0]["name"] = "Renamed"
    data["map_groups"][0]["maps"][0]["bands"][0]["layers"].append(
        layer_entry("new-layer", "act-planck_dr4dr6_coadd_AA_daynight_f090_map.fits", index=0)
    )
    data["boxes"] = [
        {
            "name": "fine",
            "top_left_ra": 1,
            "top_left_dec": 2,
            "bottom_right_ra": 0,
            "bottom_right_dec": 1,
        }
    ]
    data["source_groups"] = [{"name": "cat", "sources": [{"ra": 1, "dec": 2}]}]
    data["map_groups"][0]["maps"][0]["bands"][1]["layers"][-1]["provider"]["filename"] = "gone.fits"
    readme_config.write_text(json.dumps(data))
    with pytest.raises(ConfigError) as caught:
        import_config(readme_config)
    assert len(caught.value.problems) == 1
    assert "gone.fits: no such file" in caught.value.problems[0]
    assert snapshot() == before


@pytest.mark.django_db
def test_a_failure_while_writing_rolls_everything_back(readme_config, monkeypatch):
    """A file that breaks between validation and writing: the transaction is undone."""
    import_config(readme_config)
    before = snapshot()
    data = json.loads(readme_config.read_text())
    data["map_groups"][0]["name"] = "Renamed"
    for layer in data["map_groups"][0]["maps"][0]["bands"][1]["layers"]:
        layer["provider"]["index"] = 0
    readme_config.write_text(json.dumps(data))
    calls = []

    def break_on_second_call(layer):
        calls.append(layer.layer_id)
        if len(calls) == 2:
            raise ValidationError({"provider": "the file vanished"})

    monkeypatch.setattr(importers, "refresh_layer_geometry", break_on_second_call)
    # f150Q and f150U change provider (so their geometry is re-read); f150U fails.
    with pytest.raises(ConfigError) as caught:
        import_config(readme_config)
    assert caught.value.problems == [
        f"{readme_config}: map_groups[0].maps[0].bands[1].layers[2] (layer_id 'f150U'): "
        "provider: the file vanished"
    ]
    assert snapshot() == before


@pytest.fixture
def catalogue_files(tmp_path):
    n = 12_345
    json_rows = [
        {
            "ra": (i * 0.01) % 360,
            "dec": -60 + (i % 1200) * 0.1,
            "name": f"S{i}",
            "extra": {"snr": i},
        }
        for i in range(n)
    ]
    (tmp_path / "big.json").write_text(json.dumps(json_rows))
    lines = ["name,ra,dec,flux,flag"] + [
        f"C{i},{(i * 0.02) % 360},{-30 + (i % 600) * 0.1},{i / 10},{'yes' if i % 2 else ''}"
        for i in range(n)
    ]
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    return tmp_path, n


@pytest.mark.django_db
def test_catalogues_import_in_batches_and_are_replaced_on_reimport(catalogue_files):
    folder, n = catalogue_files
    config = {
        "source_groups": [
            {
                "source_group_id": "j",
                "name": "J",
                "provider": {"file_type": "json", "filename": "big.json"},
            },
            {
                "source_group_id": "c",
                "name": "C",
                "provider": {"file_type": "csv", "filename": "big.csv"},
            },
            {"name": "Inline", "grant": "cats", "sources": [{"ra": 1.5, "dec": -2.5}]},
        ]
    }
    path = write_json(folder / "c.json", config)
    report = import_config(path)
    assert report.sources == 2 * n + 1
    assert Source.objects.filter(source_group__source_group_id="j").count() == n
    source = Source.objects.get(source_group__source_group_id="j", name="S1000")
    assert (source.ra, source.dec, source.extra) == (
        10.0,
        pytest.approx(-60 + 1000 * 0.1),
        {"snr": 1000},
    )
    source = Source.objects.get(source_group__source_group_id="c", name="C7")
    assert (source.ra, source.dec) == (pytest.approx(0.14), pytest.approx(-29.3))
    assert source.extra == {"flux": 0.7, "flag": "yes"}
    assert Source.objects.get(source_group__source_group_id="c", name="C8").extra == {
        "flux": 0.8,
        "flag": None,
    }
    inline = SourceGroup.objects.get(source_group_id="inline")
    assert (inline.grant.name, inline.sources.get().ra) == ("cats", 1.5)

    import_config(path)
    assert Source.objects.count() == 2 * n + 1
    (folder / "big.json").write_text(json.dumps([{"ra": 5, "dec": 5, "name": "only"}]))
    import_config(path)
    assert list(
        Source.objects.filter(source_group__source_group_id="j").values_list("name", flat=True)
    ) == ["only"]
    assert Source.objects.count() == n + 2


@pytest.mark.django_db
def test_boxes_are_keyed_by_name(tmp_path):
    box = {
        "name": "BOSS-N",
        "description": "Example box",
        "top_left_ra": -200.0,
        "top_left_dec": 20.0,
        "bottom_right_ra": -120.0,
        "bottom_right_dec": 0.0,
    }
    path = write_json(tmp_path / "c.json", {"boxes": [box]})
    import_config(path)
    box["description"] = "Changed"
    import_config(write_json(path, {"boxes": [box]}))
    stored = Box.objects.get()
    assert (stored.name, stored.description, stored.top_left_ra, stored.bottom_right_dec) == (
        "BOSS-N",
        "Changed",
        -200.0,
        0.0,
    )


@pytest.mark.django_db
def test_older_list_format_and_original_genconfig_fields_are_accepted(tmp_path, small_map):
    """The original once wrote a bare list of map groups, with derived fields and "auto" ranges."""
    layer = layer_entry(
        "a",
        str(small_map),
        vmin="auto",
        vmax=None,
        description=None,
        tile_size=999,
        bounding_left=1.0,
        quantity=None,
        units=None,
        cmap=None,
    )
    layer["provider"].pop("provider_type")
    config = config_with_layers(layer)["map_groups"]
    import_config(write_json(tmp_path / "c.json", config))
    stored = Layer.objects.get()
    assert (stored.vmin, stored.vmax, stored.description, stored.cmap) == (None, None, "", "RdBu_r")
    assert stored.tile_size == 180
    assert stored.provider["provider_type"] == "fits"


@pytest.mark.django_db
def test_a_combination_layer_stores_absolute_inputs(tmp_path, iqu_map):
    ivar = write_car_map(
        tmp_path / "ivar.fits",
        nx=20,
        ny=10,
        pixel_scale_deg=1.0,
        ra_left_deg=10.0,
        dec_bottom_deg=-5.0,
    )
    entry = {
        "layer_id": "snr",
        "name": "S/N",
        "provider": {
            "provider_type": "fits_combination",
            "function": "*",
            "providers": [
                {"provider_type": "fits", "filename": "iqu.fits", "index": 0},
                {"provider_type": "fits", "filename": "ivar.fits"},
            ],
        },
    }
    import_config(write_json(tmp_path / "c.json", config_with_layers(entry)))
    stored = Layer.objects.get()
    assert stored.provider == {
        "provider_type": "fits_combination",
        "function": "*",
        "providers": [
            {"provider_type": "fits", "filename": str(iqu_map.resolve()), "hdu": 0, "index": 0},
            {"provider_type": "fits", "filename": str(ivar.resolve()), "hdu": 0, "index": None},
        ],
    }
    assert (stored.tile_size, stored.bounding_left, stored.bounding_right) == (180, -10.0, 10.0)


@pytest.mark.django_db
def test_layer_save_reads_no_file_and_refresh_derives_the_geometry(tmp_path):
    fine = write_car_map(tmp_path / "fine.fits", nx=40, ny=20, pixel_scale_deg=0.5 * ARCMIN)
    coarse = write_car_map(tmp_path / "coarse.fits", nx=10, ny=5, pixel_scale_deg=2 * ARCMIN)
    group = MapGroup.objects.create(map_group_id="g", name="G")
    band = Band.objects.create(
        band_id="b", name="B", map=Map.objects.create(map_id="m", name="M", map_group=group)
    )
    layer = Layer(
        layer_id="l", name="L", band=band, provider={"provider_type": "fits", "filename": str(fine)}
    )
    refresh_layer_geometry(layer)
    layer.save()
    assert (layer.tile_size, layer.number_of_levels) == (675, 6)

    layer = Layer.objects.get(pk=layer.pk)
    layer.provider = {"provider_type": "fits", "filename": str(coarse)}
    refresh_layer_geometry(layer)
    layer.save()
    layer.refresh_from_db()
    assert (layer.tile_size, layer.number_of_levels) == (675, 4)

    # Saving does not touch the file: it may even be gone, whatever changed.
    coarse.unlink()
    layer = Layer.objects.get(pk=layer.pk)
    layer.name = "renamed"
    layer.save()
    layer.provider = {"provider_type": "fits", "filename": str(tmp_path / "missing.fits")}
    layer.save()

    with pytest.raises(ValidationError) as caught:
        refresh_layer_geometry(layer)
    assert caught.value.message_dict == {
        "provider": [f"provider.filename: {tmp_path / 'missing.fits'}: no such file"]
    }
