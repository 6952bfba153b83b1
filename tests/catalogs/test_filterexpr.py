"""The catalogue filter language (catalogs/filterexpr.py) on the cases the viewer's parser
also runs (tests/support/filter_cases.json, read by tests/viewer/filterexpr.test.mjs)."""

import json
from pathlib import Path

import pytest

from catalogs.filterexpr import FilterError, parse_filter

CASES_FILE = Path(__file__).resolve().parents[1] / "support/filter_cases.json"
SHARED = json.loads(CASES_FILE.read_text())


def filter_text(case: dict) -> str:
    """The case's filter; ``filter_repeat`` [open, n, middle, close, m] builds long ones."""
    if "filter" in case:
        return case["filter"]
    opening, times, middle, closing, closing_times = case["filter_repeat"]
    return opening * times + middle + closing * closing_times


@pytest.mark.parametrize("case", SHARED["cases"], ids=filter_text)
def test_shared_case(case):
    text = filter_text(case)
    if "error" in case:
        with pytest.raises(FilterError) as raised:
            parse_filter(text, SHARED["columns"])
        assert str(raised.value) == case["error"]
    else:
        keep = parse_filter(text, SHARED["columns"])
        assert [row["name"] for row in SHARED["rows"] if keep(row)] == case["matches"]


def test_the_shared_table_is_not_trivially_small():
    errors = [case for case in SHARED["cases"] if "error" in case]
    assert len(errors) >= 20
    assert len(SHARED["cases"]) - len(errors) >= 20


def test_without_a_column_list_any_name_reads_the_extras():
    keep = parse_filter("anything > 1")
    assert keep({"name": "a", "ra": 0, "dec": 0, "extra": {"anything": 2}})
    assert not keep({"name": "a", "ra": 0, "dec": 0, "extra": {}})


def test_malicious_filters_run_no_code(tmp_path, monkeypatch):
    """Text that would run code under eval() is only ever a column name or a string."""
    marker = tmp_path / "ran"
    monkeypatch.chdir(tmp_path)
    payload = f"name = \"__import__('pathlib').Path('{marker}').touch()\""
    keep = parse_filter(payload)
    assert not keep({"name": "x", "ra": 0, "dec": 0, "extra": {}})
    assert not marker.exists()
