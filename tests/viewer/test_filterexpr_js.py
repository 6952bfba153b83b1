"""Runs the node tests of the viewer's filter parser (tests/viewer/filterexpr.test.mjs),
which share their cases with tests/catalogs/test_filterexpr.py."""

import subprocess
from pathlib import Path

TEST_FILE = Path(__file__).with_name("filterexpr.test.mjs")


def test_node_runs_the_shared_filter_cases():
    done = subprocess.run(
        ["node", "--test", str(TEST_FILE)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    # node --test prints "# pass N": at least the shared cases ran.
    passed = int(done.stdout.split("# pass ")[1].split()[0])
    assert passed >= 50
