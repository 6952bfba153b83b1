"""Catalogue files: JSON and CSV to records, and precise errors (file, row, field)."""

import json

import pytest

from catalogs.readers import (
    MAX_PROBLEMS,
    CatalogError,
    SourceRecord,
    file_type_for,
    read_catalog,
    records_from_list,
)


def read(tmp_path, name: str, text: str) -> list[SourceRecord]:
    path = tmp_path / name
    path.write_text(text)
    return read_catalog(path, file_type=name.rsplit(".", 1)[1])


def problems(tmp_path, name: str, text: str) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        read(tmp_path, name, text)
    return [line.replace(f"{tmp_path}/", "") for line in caught.value.problems]


def test_json_catalogue_as_the_original_documents_it(tmp_path):
    text = json.dumps(
        [
            {"ra": 90.222, "dec": -12.34, "name": "Favourite", "extra": {"flux": 9.23, "snr": 1.2}},
            {"ra": 22.222, "dec": -19.34, "name": "The worst", "extra": {"flux": 9.23, "snr": 1.2}},
        ]
    )
    assert read(tmp_path, "cat.json", text) == [
        SourceRecord(ra=90.222, dec=-12.34, name="Favourite", extra={"flux": 9.23, "snr": 1.2}),
        SourceRecord(ra=22.222, dec=-19.34, name="The worst", extra={"flux": 9.23, "snr": 1.2}),
    ]


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"ra": 1, "dec": 2}, SourceRecord(ra=1.0, dec=2.0)),
        ({"ra": "1.5", "dec": "-2"}, SourceRecord(ra=1.5, dec=-2.0)),
        ({"ra": 1, "dec": 2, "name": None, "extra": None}, SourceRecord(ra=1.0, dec=2.0)),
        (
            {"ra": 1, "dec": 2, "flux": 3, "extra": {"snr": 4}},
            SourceRecord(ra=1.0, dec=2.0, extra={"flux": 3, "snr": 4}),
        ),
        (
            {"ra": 1, "dec": 2, "extra": {"flux": float("nan"), "list": [float("inf"), 1]}},
            SourceRecord(ra=1.0, dec=2.0, extra={"flux": None, "list": [None, 1]}),
        ),
        ({"ra": -360, "dec": -90}, SourceRecord(ra=-360.0, dec=-90.0)),
        ({"ra": 360, "dec": 90}, SourceRecord(ra=360.0, dec=90.0)),
    ],
    ids=[
        "minimal",
        "numeric-strings",
        "nulls",
        "other-keys-to-extra",
        "non-finite-extra",
        "low",
        "high",
    ],
)
def test_json_records(item, expected):
    assert records_from_list([item], file="f") == [expected]


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([3], ["f: [0]: expected an object with ra and dec, found a number"]),
        ([{"dec": 2}], ["f: [0].ra: missing (degrees required)"]),
        ([{"ra": "x", "dec": 2}], ["f: [0].ra: not a number"]),
        ([{"ra": True, "dec": 2}], ["f: [0].ra: expected a number of degrees, found a boolean"]),
        ([{"ra": 1, "dec": 91}], ["f: [0].dec: outside -90..90 degrees"]),
        ([{"ra": 400, "dec": 0}], ["f: [0].ra: outside -360..360 degrees"]),
        ([{"ra": float("nan"), "dec": 0}], ["f: [0].ra: not a finite number"]),
        ([{"ra": 1, "dec": 2, "name": 5}], ["f: [0].name: expected a string, found a number"]),
        ([{"ra": 1, "dec": 2, "extra": [1]}], ["f: [0].extra: expected an object, found a list"]),
        (
            [{"ra": 1, "dec": 2}, {"ra": "a", "dec": "b"}],
            ["f: [1].ra: not a number", "f: [1].dec: not a number"],
        ),
    ],
)
def test_json_record_errors(items, expected):
    with pytest.raises(CatalogError) as caught:
        records_from_list(items, file="f")
    assert caught.value.problems == expected


def test_inline_sources_name_their_place_in_the_config():
    with pytest.raises(CatalogError) as caught:
        records_from_list([{"ra": 1}], file="config.json", path="source_groups[2].sources")
    assert caught.value.problems == [
        "config.json: source_groups[2].sources[0].dec: missing (degrees required)"
    ]


def test_csv_catalogue_with_extra_columns(tmp_path):
    text = (
        "# name, RA ,Dec,flux,flag,note\n"
        "A,10.5,-3,1.25,7,\n"
        '"B, the second",359,89.5,nan,-2,bright\n\n'
    )
    assert read(tmp_path, "cat.csv", text) == [
        SourceRecord(ra=10.5, dec=-3.0, name="A", extra={"flux": 1.25, "flag": 7, "note": None}),
        SourceRecord(
            ra=359.0,
            dec=89.5,
            name="B, the second",
            extra={"flux": None, "flag": -2, "note": "bright"},
        ),
    ]


def test_csv_without_name_column(tmp_path):
    assert read(tmp_path, "cat.csv", "ra,dec\n1,2\n") == [SourceRecord(ra=1.0, dec=2.0)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ["cat.csv: empty CSV file (expected a header row)"]),
        (
            "name,ra\nA,1\n",
            [
                "cat.csv: line 1: the header row must name the columns ra and dec "
                "(missing dec; the header has 2 columns)"
            ],
        ),
        ("ra,dec,RA\n1,2,3\n", ["cat.csv: line 1: columns 1 and 3 have the same name"]),
        ("name,ra,dec\nA,1\n", ["cat.csv: line 2: expected 3 fields, found 2"]),
        ("name,ra,dec\nA,1,2\nB,abc,3\n", ["cat.csv: line 3: ra: not a number"]),
        ("name,ra,dec\nA,1,-95\n", ["cat.csv: line 2: dec: outside -90..90 degrees"]),
        ("name,ra,dec\nA,,2\n", ["cat.csv: line 2: ra: missing (degrees required)"]),
        ("name,ra,dec\nA,inf,2\n", ["cat.csv: line 2: ra: not a finite number"]),
    ],
    ids=[
        "empty",
        "no-dec",
        "duplicate",
        "short-row",
        "non-numeric",
        "out-of-range",
        "blank",
        "inf",
    ],
)
def test_csv_errors_name_file_line_and_field(tmp_path, text, expected):
    assert problems(tmp_path, "cat.csv", text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            '[{"ra": 1,',
            [
                "cat.json: invalid JSON at line 1 column 11: "
                "Expecting property name enclosed in double quotes"
            ],
        ),
        ('{"sources": []}', ["cat.json: expected a JSON list of sources, found an object"]),
        ("", ["cat.json: invalid JSON at line 1 column 1: Expecting value"]),
    ],
)
def test_json_file_errors(tmp_path, text, expected):
    assert problems(tmp_path, "cat.json", text) == expected


def test_many_bad_rows_are_summarised(tmp_path):
    text = "ra,dec\n" + "x,1\n" * (MAX_PROBLEMS + 30)
    lines = problems(tmp_path, "cat.csv", text)
    assert len(lines) == MAX_PROBLEMS + 1
    assert lines[-1] == "cat.csv: ... and 30 more problems"


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.mkdir(), "is a directory, not a catalogue file"),
        (
            lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xff"),
            "not UTF-8 text (byte 0); is it really a catalogue?",
        ),
    ],
    ids=["missing", "directory", "binary"],
)
def test_unreadable_files(tmp_path, setup, expected):
    path = tmp_path / "cat.json"
    setup(path)
    with pytest.raises(CatalogError) as caught:
        read_catalog(path, file_type="json")
    assert caught.value.problems == [f"{path}: {expected}"]


def test_unknown_file_type(tmp_path):
    with pytest.raises(CatalogError) as caught:
        read_catalog(tmp_path / "x.xml", file_type="xml")
    assert caught.value.problems == [
        f"{tmp_path / 'x.xml'}: file_type 'xml' is not one of json, csv"
    ]


@pytest.mark.parametrize(
    ("name", "expected"), [("a.json", "json"), ("A.CSV", "csv"), ("a.txt", None), ("json", None)]
)
def test_file_type_for(name, expected):
    assert file_type_for(name) == expected
