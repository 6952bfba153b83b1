"""Runs the node tests of the viewer's live-update timing (tests/viewer/live.test.mjs):
reconnect backoff, debounce of event bursts, fallback polling."""

import subprocess
from pathlib import Path

TEST_FILE = Path(__file__).with_name("live.test.mjs")


def test_node_runs_the_live_update_tests():
    done = subprocess.run(
        ["node", "--test", str(TEST_FILE)], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "# pass 7\n" in done.stdout, done.stdout
