"""Schemathesis against /openapi.json through nginx: no generated request gets a 5xx.

Path parameters are drawn part of the time from the ids and numbers that
exist in the stack's data, so the generated requests reach real layers,
tiles and cut-outs rather than stopping at "unknown id".
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.stack import LAYER_IDS, SECOND_LAYER_ID

pytestmark = pytest.mark.services

MAX_EXAMPLES = 30
RUN_TIMEOUT_SECONDS = 300

CONFIG = f"""
[dictionaries.layer_ids]
values = {[*LAYER_IDS, SECOND_LAYER_ID]!r}
[dictionaries.levels]
values = [0, 1, 2]
[dictionaries.tile_xy]
values = [0, 1, 2, 3, 5, 7]
[dictionaries.exts]
values = ["png", "webp", "jpg", "fits"]
[dictionaries.dec_deg]
values = [10.0, 5.0, -20.0, -25.0, 0.5]
[dictionaries.ra_deg]
values = [0.0, 10.5, 200.0, -30.0]
[dictionaries.radius_arcmin]
values = [1.0, 30.0, 5.5]

[parameters]
"path.layer_id" = {{ dictionary = "layer_ids", probability = 0.8 }}
"path.level" = {{ dictionary = "levels", probability = 0.6 }}
"path.x" = {{ dictionary = "tile_xy", probability = 0.6 }}
"path.y" = {{ dictionary = "tile_xy", probability = 0.6 }}
"path.ext" = {{ dictionary = "exts", probability = 0.6 }}
"path.left" = {{ dictionary = "ra_deg", probability = 0.6 }}
"path.right" = {{ dictionary = "ra_deg", probability = 0.6 }}
"path.top" = {{ dictionary = "dec_deg", probability = 0.6 }}
"path.bottom" = {{ dictionary = "dec_deg", probability = 0.6 }}
"query.ra" = {{ dictionary = "ra_deg", probability = 0.6 }}
"query.dec" = {{ dictionary = "dec_deg", probability = 0.6 }}
"query.radius" = {{ dictionary = "radius_arcmin", probability = 0.6 }}
"""


def schemathesis_command() -> list[str]:
    beside_python = Path(sys.executable).with_name("schemathesis")
    if beside_python.exists():
        return [str(beside_python)]
    found = shutil.which("schemathesis")
    if found is None:
        pytest.fail("schemathesis not installed: pip install -r requirements-test.txt")
    return [found]


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "session"])
def test_no_generated_request_gets_a_server_error(stack, session_key, logged_in, tmp_path, capsys):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    # Every documented operation; tests/support/error_cases.py sends every method to
    # every route, documented or not.
    session = ["--header", f"Cookie: sessionid={session_key}"] if logged_in else []
    result = subprocess.run(
        [
            *schemathesis_command(),
            "--config-file",
            str(config),
            "run",
            f"{stack.base_url}/openapi.json",
            "--checks",
            "not_a_server_error",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--tls-verify",
            stack.ca_file,
            "--workers",
            "2",
            "--request-timeout",
            "30",
            "--seed",
            "20261124",
            "--no-shrink",
            *session,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_SECONDS,
    )
    summary = [line.strip() for line in result.stdout.splitlines() if " generated, " in line]
    with capsys.disabled():
        print(
            f"\n[production] schemathesis ({'session' if logged_in else 'anonymous'}): "
            f"{' '.join(summary) or 'no summary'}"
        )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert summary, result.stdout[-2000:]
    assert "failed" not in summary[0]
