"""One set of yes/no words for settings, API query parameters and the viewer's URL state."""

import re
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from maps.query import parse_bool
from tilemaker_site import env
from tilemaker_site.booleans import FALSE_WORDS, TRUE_WORDS
from tilemaker_site.errors import BadRequest

VIEWER = Path(__file__).resolve().parents[2] / "frontend/static/frontend/js/main.js"


def viewer_words(name: str) -> set[str]:
    found = re.search(rf"const {name} = \[([^\]]*)\];", VIEWER.read_text())
    assert found, f"{name} not found in {VIEWER.name}"
    return set(re.findall(r'"([^"]*)"', found.group(1)))


def test_the_viewer_reads_the_same_words():
    assert viewer_words("TRUE_WORDS") == TRUE_WORDS
    assert viewer_words("FALSE_WORDS") == FALSE_WORDS


@pytest.mark.parametrize(
    ("word", "expected"),
    [(word, True) for word in TRUE_WORDS] + [(word, False) for word in FALSE_WORDS],
)
def test_settings_and_query_parameters_take_the_same_words(monkeypatch, word, expected):
    for spelling in (word, word.upper()):
        monkeypatch.setenv("TILEMAKER_FLAG", spelling)
        assert env.env_bool("FLAG", not expected) is expected
        assert parse_bool("flip", spelling) is expected


@pytest.mark.parametrize("word", ["t", "y", "f", "n", "maybe", ""])
def test_other_words_are_refused_by_both(monkeypatch, word):
    with pytest.raises(BadRequest, match="flip must be true or false"):
        parse_bool("flip", word)
    monkeypatch.setenv("TILEMAKER_FLAG", word or "maybe")
    with pytest.raises(ImproperlyConfigured):
        env.env_bool("FLAG", True)
