"""The viewer's own scripts never hand a string to the HTML parser.

Names, units and catalogue columns come from configs, the admin and FITS
headers that anyone may write; the scripts build elements and set
``textContent`` instead (``frontend/static/frontend/js/dom.js``).
"""

import re
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "frontend/static/frontend/js"
HTML_SINKS = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write(ln)?)\b")


def test_the_viewer_has_scripts_to_check():
    assert (SCRIPTS / "main.js").is_file()


@pytest.mark.parametrize("script", sorted(SCRIPTS.glob("*.js")), ids=lambda path: path.name)
def test_no_script_parses_html(script):
    found = [
        f"{script.name}:{number}: {line.strip()}"
        for number, line in enumerate(script.read_text().splitlines(), start=1)
        if HTML_SINKS.search(line)
    ]
    assert found == []
