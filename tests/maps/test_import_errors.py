"""Every way a config can be wrong: one line naming file, entry and field; nothing written."""

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import override_settings

from maps.importers import ConfigError, import_config, import_config_data
from tests.maps.conftest import counts, deadline, snapshot
from tests.support import badfits
from tests.support.configs import config_with_layers, layer_entry, write_json
from tests.support.fits import write_car_map

LAYER0 = "map_groups[0].maps[0].bands[0].layers[0]"


@dataclass
class Files:
    tmp: Path
    small: Path
    iqu: Path

    def write(self, name: str, text: str) -> str:
        path = self.tmp / name
        path.write_text(text)
        return str(path)


@pytest.fixture
def files(tmp_path, small_map, iqu_map):
    return Files(tmp=tmp_path, small=small_map, iqu=iqu_map)


def problems_for(config_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        import_config(config_path)
    assert str(caught.value) == "\n".join(caught.value.problems)
    return caught.value.problems


def one_line_with(problems: list[str], *fragments: str) -> str:
    matching = [line for line in problems if all(f in line for f in fragments)]
    assert matching, f"no problem line contains all of {fragments}:\n" + "\n".join(problems)
    return matching[0]


def catalog_config(provider: dict) -> dict:
    return {"source_groups": [{"source_group_id": "cat", "name": "Cat", "provider": provider}]}


def box(**overrides) -> dict:
    entry = {
        "name": "B",
        "top_left_ra": 10.0,
        "top_left_dec": 5.0,
        "bottom_right_ra": -10.0,
        "bottom_right_dec": -5.0,
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}


CASES = [
    (
        "top-level-not-object",
        lambda f: 3,
        ["expected a JSON object with map_groups", "found the number 3"],
    ),
    ("map-groups-not-list", lambda f: {"map_groups": {}}, ["map_groups: expected a list"]),
    (
        "group-missing-name",
        lambda f: {"map_groups": [{"maps": []}]},
        ["map_groups[0]: name: missing (required)"],
    ),
    (
        "group-entry-not-object",
        lambda f: {"map_groups": ["ACT"]},
        ["map_groups[0]: expected an object, found the string 'ACT'"],
    ),
    (
        "map-missing-id",
        lambda f: {"map_groups": [{"name": "G", "maps": [{"name": "M", "bands": []}]}]},
        ["map_groups[0].maps[0]: map_id: missing (required)"],
    ),
    (
        "layer-name-wrong-type",
        lambda f: config_with_layers(layer_entry("a", str(f.small), name=5)),
        [f"{LAYER0} (layer_id 'a'): name: expected a non-empty string, found the number 5"],
    ),
    (
        "layer-missing-id",
        lambda f: config_with_layers({"name": "x", "provider": {"filename": str(f.small)}}),
        [f"{LAYER0}: layer_id: missing (required)"],
    ),
    (
        "layer-id-not-a-slug",
        lambda f: config_with_layers(layer_entry("f090 I", str(f.small))),
        [f"{LAYER0} (layer_id 'f090 I'): layer_id: 'f090 I' is not a valid id"],
    ),
    (
        "layer-id-number",
        lambda f: config_with_layers({**layer_entry("a", str(f.small)), "layer_id": 7}),
        [f"{LAYER0}: layer_id: expected a string, found the number 7"],
    ),
    (
        "missing-provider",
        lambda f: config_with_layers({"layer_id": "a", "name": "A"}),
        [f"{LAYER0} (layer_id 'a'): provider: missing (required)"],
    ),
    (
        "missing-filename",
        lambda f: config_with_layers(
            {"layer_id": "a", "name": "A", "provider": {"provider_type": "fits"}}
        ),
        [f"{LAYER0} (layer_id 'a'): provider.filename: missing (required)"],
    ),
    (
        "missing-fits-file",
        lambda f: config_with_layers(layer_entry("a", "nope.fits")),
        [f"{LAYER0} (layer_id 'a'): provider.filename: ", "nope.fits: no such file"],
    ),
    (
        "not-fits",
        lambda f: config_with_layers(layer_entry("a", f.write("notes.fits", "x" * 4000))),
        ["provider.filename: ", "notes.fits: not a FITS file"],
    ),
    (
        "hdu-out-of-range",
        lambda f: config_with_layers(layer_entry("a", str(f.small), hdu=3)),
        [f"{LAYER0} (layer_id 'a'): provider.hdu: ", "small.fits: HDU 3 does not exist"],
    ),
    (
        "hdu-negative",
        lambda f: config_with_layers(layer_entry("a", str(f.small), hdu=-1)),
        ["provider.hdu: expected an integer >= 0, found the number -1"],
    ),
    (
        "index-out-of-range",
        lambda f: config_with_layers(layer_entry("a", str(f.iqu), index=5)),
        [f"{LAYER0} (layer_id 'a'): provider.index: ", "iqu.fits: index 5 is outside 0..2"],
    ),
    (
        "index-on-2d",
        lambda f: config_with_layers(layer_entry("a", str(f.small), index=1)),
        ["provider.index: ", "small.fits: index 1 given for a 2-D image"],
    ),
    (
        "index-missing-for-3d",
        lambda f: config_with_layers(layer_entry("a", str(f.iqu))),
        ["provider.index: ", "iqu.fits: HDU 0 holds 3 planes: an index 0..2 is needed"],
    ),
    (
        "index-wrong-type",
        lambda f: config_with_layers(layer_entry("a", str(f.iqu), index="0")),
        ["provider.index: expected an integer >= 0 or null, found the string '0'"],
    ),
    (
        "not-car",
        lambda f: config_with_layers(layer_entry("a", str(badfits.not_car(f.tmp / "tan.fits")))),
        ["provider.filename: ", "tan.fits: CTYPE1 = 'RA---TAN': only plate carree"],
    ),
    (
        "duplicate-layer-id",
        lambda f: config_with_layers(
            layer_entry("a", str(f.small)), layer_entry("a", str(f.small))
        ),
        [
            "map_groups[0].maps[0].bands[0].layers[1] (layer_id 'a'): layer_id: "
            f"'a' is already used by {LAYER0} (layer_id 'a')"
        ],
    ),
    (
        "duplicate-map-id-across-groups",
        lambda f: {
            "map_groups": [
                {"name": "G1", "maps": [{"map_id": "m", "name": "M", "bands": []}]},
                {"name": "G2", "maps": [{"map_id": "m", "name": "M", "bands": []}]},
            ]
        },
        ["map_groups[1].maps[0] (map_id 'm'): map_id: 'm' is already used by map_groups[0]"],
    ),
    (
        "duplicate-group-id",
        lambda f: {
            "map_groups": [
                {"map_group_id": "g", "name": "G1"},
                {"map_group_id": "g", "name": "G2"},
            ]
        },
        ["map_groups[1] (map_group_id 'g'): map_group_id: 'g' is already used by map_groups[0]"],
    ),
    (
        "duplicate-source-group-id",
        lambda f: {
            "source_groups": [
                {"source_group_id": "s", "name": "A", "sources": []},
                {"source_group_id": "s", "name": "B", "sources": []},
            ]
        },
        ["source_groups[1] (source_group_id 's'): source_group_id: 's' is already used"],
    ),
    (
        "duplicate-box-name",
        lambda f: {"boxes": [box(), box()]},
        ["boxes[1] (box 'B'): name: 'B' is already used by boxes[0] (box 'B')"],
    ),
    (
        "unknown-provider-type",
        lambda f: config_with_layers(
            {"layer_id": "a", "name": "A", "provider": {"provider_type": "hips"}}
        ),
        [f"{LAYER0} (layer_id 'a'): provider.provider_type: 'hips' is not one of"],
    ),
    (
        "unknown-combination-function",
        lambda f: config_with_layers(
            {
                "layer_id": "a",
                "name": "A",
                "provider": {
                    "provider_type": "fits_combination",
                    "function": "^",
                    "providers": [{"provider_type": "fits", "filename": str(f.small)}],
                },
            }
        ),
        [f"{LAYER0} (layer_id 'a'): provider.function: '^' is not one of + - * / max min mean"],
    ),
    (
        "combination-input-missing",
        lambda f: config_with_layers(
            {
                "layer_id": "a",
                "name": "A",
                "provider": {
                    "provider_type": "fits_combination",
                    "function": "/",
                    "providers": [
                        {"provider_type": "fits", "filename": str(f.small)},
                        {"provider_type": "fits", "filename": "gone.fits"},
                    ],
                },
            }
        ),
        ["provider.providers[1].filename: ", "gone.fits: no such file"],
    ),
    (
        "combination-grids-differ",
        lambda f: config_with_layers(
            {
                "layer_id": "a",
                "name": "A",
                "provider": {
                    "provider_type": "fits_combination",
                    "function": "/",
                    "providers": [
                        {"filename": str(f.small)},
                        {"filename": str(f.iqu), "index": 0},
                        {
                            "filename": str(
                                write_car_map(
                                    f.tmp / "other.fits", nx=20, ny=12, pixel_scale_deg=1.0
                                )
                            )
                        },
                    ],
                },
            }
        ),
        ["provider.providers[2]: ", "other.fits: pixel grid 20 x 12", "differs from providers[0]"],
    ),
    (
        "combination-nested",
        lambda f: config_with_layers(
            {
                "layer_id": "a",
                "name": "A",
                "provider": {
                    "provider_type": "fits_combination",
                    "function": "+",
                    "providers": [{"provider_type": "fits_combination"}],
                },
            }
        ),
        ["provider.providers[0].provider_type: 'fits_combination': a combination takes fits"],
    ),
    (
        "vmin-not-number",
        lambda f: config_with_layers(layer_entry("a", str(f.small), vmin="low")),
        [f"{LAYER0} (layer_id 'a'): vmin: expected a number or \"auto\", found the string 'low'"],
    ),
    (
        "vmin-above-vmax",
        lambda f: config_with_layers(layer_entry("a", str(f.small), vmin=5, vmax=1)),
        ["vmax: 1 must be greater than vmin 5"],
    ),
    (
        "unknown-cmap",
        lambda f: config_with_layers(layer_entry("a", str(f.small), cmap="rainbowish")),
        [f"{LAYER0} (layer_id 'a'): cmap: 'rainbowish' is not a matplotlib colour map"],
    ),
    (
        "grant-wrong-type",
        lambda f: config_with_layers(layer_entry("a", str(f.small), grant=["x"])),
        ["grant: expected a grant name, found a list"],
    ),
    (
        "catalog-invalid-json",
        lambda f: catalog_config(
            {"file_type": "json", "filename": f.write("cat.json", '[{"ra": 1,')}
        ),
        ["source_groups[0] (source_group_id 'cat'): provider.filename: ", "cat.json: invalid JSON"],
    ),
    (
        "catalog-json-not-list",
        lambda f: catalog_config({"file_type": "json", "filename": f.write("cat.json", "{}")}),
        ["cat.json: expected a JSON list of sources, found an object"],
    ),
    (
        "catalog-csv-non-numeric-ra",
        lambda f: catalog_config(
            {"file_type": "csv", "filename": f.write("cat.csv", "name,ra,dec\na,1,2\nb,abc,3\n")}
        ),
        ["provider.filename: ", "cat.csv: line 3: ra: not a number"],
    ),
    (
        "catalog-csv-dec-out-of-range",
        lambda f: catalog_config(
            {"file_type": "csv", "filename": f.write("cat.csv", "name,ra,dec\na,1,95\n")}
        ),
        ["cat.csv: line 2: dec: outside -90..90 degrees"],
    ),
    (
        "catalog-csv-no-header",
        lambda f: catalog_config(
            {"file_type": "csv", "filename": f.write("cat.csv", "a,1,2\nb,3,4\n")}
        ),
        ["cat.csv: line 1: the header row must name the columns ra and dec"],
    ),
    (
        "catalog-json-row-dec-missing",
        lambda f: catalog_config(
            {
                "file_type": "json",
                "filename": f.write("cat.json", '[{"ra": 1, "dec": 2}, {"ra": 1}]'),
            }
        ),
        ["cat.json: [1].dec: missing"],
    ),
    (
        "catalog-unknown-file-type",
        lambda f: catalog_config({"file_type": "xlsx", "filename": "cat.xlsx"}),
        ["source_groups[0] (source_group_id 'cat'): provider.file_type: 'xlsx' is not one of"],
    ),
    (
        "catalog-missing-file",
        lambda f: catalog_config({"file_type": "json", "filename": "missing.json"}),
        ["provider.filename: ", "missing.json: no such file"],
    ),
    (
        "catalog-is-directory",
        lambda f: catalog_config({"file_type": "json", "filename": str(f.tmp)}),
        ["provider.filename: ", "is a directory"],
    ),
    (
        "inline-sources-bad-dec",
        lambda f: {
            "source_groups": [
                {"name": "Cat", "sources": [{"ra": 1, "dec": 2}, {"ra": 1, "dec": "north"}]}
            ]
        },
        ["source_groups[0].sources[1].dec: not a number"],
    ),
    (
        "source-group-both-provider-and-sources",
        lambda f: {
            "source_groups": [
                {
                    "name": "Cat",
                    "sources": [],
                    "provider": {"file_type": "json", "filename": "x.json"},
                }
            ]
        },
        ["source_groups[0]: provider: give either provider or sources, not both"],
    ),
    (
        "box-missing-corner",
        lambda f: {"boxes": [box(top_left_ra=None)]},
        ["boxes[0] (box 'B'): top_left_ra: missing"],
    ),
    (
        "box-dec-out-of-range",
        lambda f: {"boxes": [box(top_left_dec=91)]},
        ["boxes[0] (box 'B'): top_left_dec: 91 is outside -90..90 degrees"],
    ),
    (
        "box-upside-down",
        lambda f: {"boxes": [box(top_left_dec=-10)]},
        ["top_left_dec: -10 must be north of (greater than) bottom_right_dec -5"],
    ),
    (
        "box-corner-not-number",
        lambda f: {"boxes": [box(bottom_right_ra="10h")]},
        ["bottom_right_ra: expected a number, found the string '10h'"],
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("build", "fragments"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_error_names_file_entry_and_field(files, build, fragments):
    config_path = write_json(files.tmp / "config.json", build(files))
    before = snapshot()
    problems = problems_for(config_path)
    for fragment in fragments:
        line = one_line_with(problems, fragment)
        assert line.startswith(f"{config_path}: ")
        assert "\n" not in line
        assert "Traceback" not in line
    assert snapshot() == before


BROKEN_FITS = [
    ("truncated", badfits.truncated, "truncated"),
    ("header-only", badfits.header_only, "truncated"),
    ("garbage", badfits.garbage, "not a FITS file"),
    ("empty", badfits.empty, "empty file"),
    ("missing-wcs", badfits.missing_wcs, "missing WCS keyword CDELT1"),
    ("cdelt-zero", badfits.cdelt_zero, "CDELT2 is 0"),
    ("absurd-naxis", badfits.absurd_naxis, "NAXIS1 = 1000000000000 is implausibly large"),
    ("huge-naxis", badfits.huge_naxis, "NAXIS1 = 20000000 is implausibly large"),
    ("directory", badfits.directory, "is a directory"),
    ("fifo", badfits.fifo, "not a regular file"),
]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("build", "reason"), [c[1:] for c in BROKEN_FITS], ids=[c[0] for c in BROKEN_FITS]
)
def test_malformed_fits_gives_one_line_naming_the_file_quickly(tmp_path, build, reason):
    broken = build(tmp_path / "broken.fits")
    config_path = write_json(
        tmp_path / "config.json", config_with_layers(layer_entry("a", "broken.fits"))
    )
    with deadline(10):
        problems = problems_for(config_path)
    assert problems == [
        f"{config_path}: {LAYER0} (layer_id 'a'): provider.filename: {broken}: "
        + one_line_with(problems, reason).split(f"{broken}: ", 1)[1]
    ]
    assert reason in problems[0]


@pytest.mark.django_db
def test_a_device_is_refused_without_reading_it(tmp_path):
    config_path = write_json(tmp_path / "c.json", config_with_layers(layer_entry("a", "/dev/zero")))
    with deadline(10):
        problems = problems_for(config_path)
    one_line_with(problems, "provider.filename: /dev/zero: not a regular file")


@pytest.mark.django_db
def test_a_fifo_catalogue_is_refused_without_blocking(tmp_path):
    badfits.fifo(tmp_path / "cat.json")
    config_path = write_json(
        tmp_path / "c.json", catalog_config({"file_type": "json", "filename": "cat.json"})
    )
    with deadline(10):
        problems = problems_for(config_path)
    one_line_with(problems, "provider.filename: ", "cat.json: not a regular file")


@pytest.mark.django_db
def test_every_problem_is_listed_not_just_the_first(files):
    config = config_with_layers(
        layer_entry("a", "missing1.fits"),
        layer_entry("b", str(files.iqu), index=9),
        layer_entry("c", str(files.small), cmap="nope"),
    )
    config["boxes"] = [box(top_left_dec=100)]
    problems = problems_for(write_json(files.tmp / "config.json", config))
    assert len(problems) == 4
    one_line_with(problems, "(layer_id 'a')", "missing1.fits: no such file")
    one_line_with(problems, "(layer_id 'b')", "provider.index")
    one_line_with(problems, "(layer_id 'c')", "cmap")
    one_line_with(problems, "boxes[0]", "top_left_dec")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ('{"map_groups": [', "invalid JSON at line 1 column 17"),
        ('{\n  "boxes": [1,]\n}', "invalid JSON at line 2 column"),
        ("", "invalid JSON at line 1 column 1"),
    ],
)
def test_invalid_json_names_file_and_position(tmp_path, text, fragment):
    path = tmp_path / "config.json"
    path.write_text(text)
    problems = problems_for(path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{path}: {fragment}")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p, "no such file"),
        (lambda p: p.mkdir() or p, "not a regular file"),
        (lambda p: badfits.fifo(p), "not a regular file"),
        (lambda p: p.write_bytes(b"\xff\xfe{}") and p, "not UTF-8 text"),
    ],
    ids=["missing", "directory", "fifo", "binary"],
)
def test_unusable_config_file(tmp_path, make, fragment):
    path = make(tmp_path / "config.json")
    with deadline(10):
        problems = problems_for(path)
    assert problems == [f"{path}: {fragment}" + problems[0].split(fragment, 1)[1]]


@pytest.mark.django_db
def test_same_id_in_different_kinds_is_fine(files):
    config = config_with_layers(layer_entry("x", str(files.small)))
    config["map_groups"][0]["maps"][0]["map_id"] = "x"
    config["map_groups"][0]["maps"][0]["bands"][0]["band_id"] = "x"
    import_config(write_json(files.tmp / "config.json", config))
    assert counts()["Layer"] == 1


@pytest.mark.django_db
def test_unknown_fields_are_warnings_not_errors(files):
    entry = layer_entry("a", str(files.small), colour="red", tile_size=675, bounding_left=3.0)
    report = import_config(write_json(files.tmp / "config.json", config_with_layers(entry)))
    assert report.warnings == [
        f"{files.tmp / 'config.json'}: {LAYER0} (layer_id 'a'): unknown field 'colour' ignored"
    ]


class TestDataRoots:
    """TILEMAKER_DATA_ROOTS confines every FITS and catalogue path, symlinks resolved."""

    @pytest.fixture
    def roots(self, tmp_path):
        inside = tmp_path / "allowed"
        outside = tmp_path / "elsewhere"
        inside.mkdir()
        outside.mkdir()
        write_car_map(inside / "in.fits", nx=20, ny=10, pixel_scale_deg=1.0)
        write_car_map(outside / "out.fits", nx=20, ny=10, pixel_scale_deg=1.0)
        (outside / "cat.json").write_text('[{"ra": 1, "dec": 2}]')
        (inside / "link.fits").symlink_to(outside / "out.fits")
        (inside / "cat.json").symlink_to(outside / "cat.json")
        with override_settings(DATA_ROOTS=[inside.resolve()]):
            yield inside, outside

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        "filename", ["in.fits", "../allowed/in.fits"], ids=["relative", "dotdot-inside"]
    )
    def test_inside_is_allowed(self, roots, filename):
        inside, _ = roots
        config = config_with_layers(layer_entry("a", filename))
        import_config(write_json(inside / "config.json", config))
        assert counts()["Layer"] == 1

    @pytest.mark.django_db
    @pytest.mark.parametrize(
        "filename",
        ["../elsewhere/out.fits", "link.fits", "{outside}/out.fits"],
        ids=["dotdot-outside", "symlink-pointing-out", "absolute-outside"],
    )
    def test_outside_is_refused(self, roots, filename):
        inside, outside = roots
        filename = filename.format(outside=outside)
        config = config_with_layers(layer_entry("a", filename))
        problems = problems_for(write_json(inside / "config.json", config))
        one_line_with(
            problems,
            f"{LAYER0} (layer_id 'a'): provider.filename: {filename}: outside the allowed data",
        )
        assert counts()["Layer"] == 0

    @pytest.mark.django_db
    def test_catalogue_symlink_pointing_out_is_refused(self, roots):
        inside, _ = roots
        config = catalog_config({"file_type": "json", "filename": "cat.json"})
        problems = problems_for(write_json(inside / "config.json", config))
        one_line_with(problems, "provider.filename: cat.json: outside the allowed data folders")

    @pytest.mark.django_db
    def test_device_is_refused_under_roots(self, roots):
        inside, _ = roots
        config = config_with_layers(layer_entry("a", "/dev/zero"))
        problems = problems_for(write_json(inside / "config.json", config))
        one_line_with(problems, "/dev/zero: outside the allowed data folders")


@pytest.mark.django_db
def test_import_config_data_uses_source_name_and_base_dir(files):
    config = config_with_layers(layer_entry("a", "nothere.fits"))
    with pytest.raises(ConfigError) as caught:
        import_config_data(config, base_dir=files.tmp, source_name="command line")
    assert caught.value.problems == [
        f"command line: {LAYER0} (layer_id 'a'): provider.filename: "
        f"{files.tmp / 'nothere.fits'}: no such file"
    ]


def test_config_error_is_a_value_error_with_lines():
    error = ConfigError(["a: b", "c: d"])
    assert isinstance(error, ValueError)
    assert str(error) == "a: b\nc: d"
    assert json.loads(json.dumps(error.problems)) == ["a: b", "c: d"]
