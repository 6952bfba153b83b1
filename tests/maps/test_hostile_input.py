"""Operator input that used to leak or crash: file contents in messages, NUL and huge names.

Catalogue messages name the file, line or entry and field, never what was
read; a file name the operating system cannot open is refused with one
short line naming the entry and field; nothing is written.
"""

import io
import json
import os
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from catalogs.readers import SourceRecord, read_catalog
from catalogs.serializers import SOURCE_GROUP_TAIL, source_group_head, sources_json
from tests.maps.conftest import snapshot
from tests.support.configs import config_with_layers, layer_entry, write_json

pytestmark = pytest.mark.django_db

LAYER0 = "map_groups[0].maps[0].bands[0].layers[0]"
GROUP0 = "source_groups[0] (source_group_id 'cat')"
SECRET = "hunter2"
LONG_NAME = "x" * 5000 + ".fits"


def import_problems(config_path: Path) -> list[str]:
    """The command's problem lines; it must fail with a CommandError, not a traceback."""
    with pytest.raises(CommandError) as caught:
        call_command("import_config", str(config_path), stdout=io.StringIO())
    return str(caught.value).splitlines()[1:]


def catalogue_config(tmp_path: Path, filename: str, file_type: str) -> Path:
    provider = {"file_type": file_type, "filename": filename}
    config = {"source_groups": [{"source_group_id": "cat", "name": "Cat", "provider": provider}]}
    return write_json(tmp_path / "config.json", config)


def environment_entries() -> list[str]:
    """``NAME=value`` entries this process started with, as /proc/self/environ holds them."""
    raw = Path("/proc/self/environ").read_bytes().decode(errors="replace")
    return [entry for entry in raw.split("\0") if "=" in entry and len(entry) > 4]


LEAKS = [
    ("environ-as-json", "/proc/self/environ", "json", None, "line 1: a NUL character"),
    ("environ-as-csv", "/proc/self/environ", "csv", None, "line 1: a NUL character"),
    ("secret-as-csv", "s.csv", "csv", f"SECRET={SECRET}\n", "(missing ra, dec; the header has"),
    ("secret-as-json", "s.csv", "json", f"SECRET={SECRET}\n", "invalid JSON at line 1"),
    ("secret-column", "s.csv", "csv", f"ra,dec\n{SECRET},1\n", "s.csv: line 2: ra: not a number"),
    (
        "secret-duplicate-columns",
        "s.csv",
        "csv",
        f"ra,dec,{SECRET},{SECRET.upper()}\n1,2,3,4\n",
        "line 1: columns 3 and 4 have the same name",
    ),
    ("secret-json-string", "s.json", "json", f'"{SECRET}"', "found a string"),
    ("secret-json-number", "s.json", "json", "31415926", "found a number"),
    ("secret-ra", "s.json", "json", f'[{{"ra": "{SECRET}", "dec": 0}}]', "[0].ra: not a number"),
    ("secret-dec", "s.json", "json", '[{"ra": 0, "dec": 31415926}]', "[0].dec: outside -90..90"),
    (
        "secret-name",
        "s.json",
        "json",
        '[{"ra": 0, "dec": 0, "name": 31415926}]',
        "[0].name: expected a string, found a number",
    ),
]


@pytest.mark.parametrize(
    ("filename", "file_type", "text", "fragment"),
    [case[1:] for case in LEAKS],
    ids=[case[0] for case in LEAKS],
)
def test_catalogue_errors_never_echo_the_file(tmp_path, filename, file_type, text, fragment):
    if text is not None:
        (tmp_path / filename).write_text(text)
    config_path = catalogue_config(tmp_path, filename, file_type)
    before = snapshot()
    problems = import_problems(config_path)
    assert len(problems) == 1
    line = problems[0]
    assert line.startswith(f"{config_path}: {GROUP0}: provider.filename: ")
    assert fragment in line
    for secret in [SECRET, SECRET.upper(), "31415926", *environment_entries()]:
        assert secret not in line
    assert snapshot() == before


def test_huge_numbers_and_deep_nesting_are_errors_not_tracebacks(tmp_path):
    (tmp_path / "digits.json").write_text('[{"ra": 1, "dec": 2, "flux": ' + "9" * 5000 + "}]")
    (tmp_path / "deep.json").write_text("[" * 100_000)
    (tmp_path / "digits.csv").write_text("ra,dec,flux\n1,2," + "9" * 5000 + "\n")
    problems = import_problems(catalogue_config(tmp_path, "digits.json", "json"))
    assert problems[0].endswith("digits.json: invalid JSON: a number with too many digits")
    problems = import_problems(catalogue_config(tmp_path, "deep.json", "json"))
    assert problems[0].endswith("deep.json: invalid JSON: values nested too deeply")
    # A 5000-digit CSV cell is kept as text: it is no number a catalogue means.
    (record,) = read_catalog(tmp_path / "digits.csv", file_type="csv")
    assert record == SourceRecord(ra=1.0, dec=2.0, extra={"flux": "9" * 5000})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("[" * 100_000, "values nested too deeply"), ("9" * 5000, "a number with too many digits")],
    ids=["deep", "digits"],
)
def test_config_file_with_huge_numbers_or_deep_nesting(tmp_path, text, fragment):
    path = tmp_path / "config.json"
    path.write_text(text)
    assert import_problems(path) == [f"{path}: invalid JSON: {fragment}"]


def fits_layer(filename: str) -> dict:
    return config_with_layers(layer_entry("a", filename))


def combination_layer(filename: str) -> dict:
    provider = {
        "provider_type": "fits_combination",
        "function": "+",
        "providers": [{"provider_type": "fits", "filename": filename}],
    }
    return config_with_layers({"layer_id": "a", "name": "a", "provider": provider})


def source_group(filename: str) -> dict:
    provider = {"file_type": "csv", "filename": filename}
    return {"source_groups": [{"source_group_id": "cat", "name": "Cat", "provider": provider}]}


ENTRY = {
    fits_layer: f"{LAYER0} (layer_id 'a'): provider.filename",
    combination_layer: f"{LAYER0} (layer_id 'a'): provider.providers[0].filename",
    source_group: f"{GROUP0}: provider.filename",
}
NUL = "a\0b.fits"
NUL_MESSAGE = "a\\x00b.fits: a file name cannot contain a NUL character"
TOO_LONG = "... (5005 characters): the file name is too long (5005 bytes; at most 4095"
LONG_PART = "/tmp/" + "y" * 260 + ".fits"
LONG_PART_MESSAGE = f"{LONG_PART}: the file name is too long (270 bytes; at most 4095, and 255"
UNKNOWN_USER = "~no-such-user-here/m.fits"
NAMES = {
    "nul": (NUL, NUL_MESSAGE),
    "long": (LONG_NAME, TOO_LONG),
    "long-part": (LONG_PART, LONG_PART_MESSAGE),
    "unknown-user": (UNKNOWN_USER, f"{UNKNOWN_USER}: cannot resolve the path"),
    "symlink-loop": ("loop.fits", "loop.fits: cannot resolve the path"),
}
BAD_NAMES = [
    pytest.param(build, *NAMES[kind], roots, id=f"{build.__name__}-{kind}-{where}")
    for build in ENTRY
    for kind in NAMES
    for roots, where in ((False, "anywhere"), (True, "data-roots"))
]


@pytest.mark.parametrize(("build", "filename", "message", "roots"), BAD_NAMES)
def test_unusable_file_names_are_one_short_line(tmp_path, build, filename, message, roots):
    os.symlink(tmp_path / "loop.fits", tmp_path / "loop.fits")
    config_path = write_json(tmp_path / "config.json", build(filename))
    before = snapshot()
    with override_settings(DATA_ROOTS=[tmp_path.resolve()] if roots else []):
        problems = import_problems(config_path)
    assert len(problems) == 1
    assert problems[0].startswith(f"{config_path}: {ENTRY[build]}: ")
    assert message in problems[0]
    assert len(problems[0]) < 600
    assert snapshot() == before


def test_layer_id_default_is_refused(tmp_path, small_map):
    config_path = write_json(
        tmp_path / "config.json", config_with_layers(layer_entry("default", str(small_map)))
    )
    before = snapshot()
    assert import_problems(config_path) == [
        f"{config_path}: {LAYER0} (layer_id 'default'): layer_id: 'default' is reserved: "
        "/layers/default is a route, not a layer"
    ]
    assert snapshot() == before


# PostgreSQL's text and jsonb cannot hold NUL: refused at validation, never at the write.
NUL_CATALOGUES = [
    ("nul-byte-csv", "n.csv", "csv", "name,ra,dec\nok,1,2\nb\x00d,3,4\n", "n.csv: line 3: a NUL"),
    (
        "nul-escape-name",
        "n.json",
        "json",
        '[{"ra": 1, "dec": 2, "name": "a\\u0000b"}]',
        "n.json: [0].name: a NUL character",
    ),
    (
        "nul-escape-extra",
        "n.json",
        "json",
        '[{"ra": 1, "dec": 2, "extra": {"f": ["x", "\\u0000"]}}]',
        "n.json: [0].extra.f[1]: a NUL character",
    ),
]


@pytest.mark.parametrize(
    ("filename", "file_type", "text", "fragment"),
    [case[1:] for case in NUL_CATALOGUES],
    ids=[case[0] for case in NUL_CATALOGUES],
)
def test_nul_characters_in_catalogues_are_refused(tmp_path, filename, file_type, text, fragment):
    (tmp_path / filename).write_text(text)
    config_path = catalogue_config(tmp_path, filename, file_type)
    before = snapshot()
    problems = import_problems(config_path)
    assert len(problems) == 1
    assert fragment in problems[0]
    assert snapshot() == before


def test_nul_character_anywhere_in_a_config_is_refused(tmp_path, small_map):
    entry = {**layer_entry("l1", str(small_map)), "name": "I\x00"}
    config_path = write_json(tmp_path / "config.json", config_with_layers(entry))
    before = snapshot()
    assert import_problems(config_path) == [
        f"{config_path}: {LAYER0}.name: a NUL character (no database can store it)"
    ]
    assert snapshot() == before


def refuse_constant(name: str):
    raise AssertionError(f"{name} in a JSON body")


def test_catalogue_body_turns_stored_nan_into_null():
    """Rows stored before the admin refused NaN still give valid JSON."""
    stored = '{"flux": NaN, "list": [Infinity, -Infinity, 1], "note": "NaN here"}'
    summary = {"source_group_id": "c", "name": "C", "description": ""}
    rows = [("a", 1.0, 2.0, stored), ("b", 3.0, 4.0, '{"x": 1}')]
    body = source_group_head(summary) + sources_json(rows, first=True) + SOURCE_GROUP_TAIL
    assert json.loads(body, parse_constant=refuse_constant)["sources"] == [
        {
            "name": "a",
            "ra": 1.0,
            "dec": 2.0,
            "extra": {"flux": None, "list": [None, None, 1], "note": "NaN here"},
        },
        {"name": "b", "ra": 3.0, "dec": 4.0, "extra": {"x": 1}},
    ]
