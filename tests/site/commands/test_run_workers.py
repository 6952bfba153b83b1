"""docker/run_workers.py keeps its workers with the supervisor of ``serve --workers``."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from tests.support.ports import free_port
from tests.support.servers import REPO_ROOT, STOP_TIMEOUT_SECONDS, run_command, wait_until


def daphne_children(pid: int) -> set[int]:
    """The running daphne processes started by ``pid`` (not the cache warmer)."""
    found = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
            command = (stat_file.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z" and b"daphne" in command:
            found.add(int(stat_file.parent.name))
    return found


def answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/map-groups", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def test_a_killed_container_worker_is_restarted(workspace):
    env = workspace.env(
        TILEMAKER_DATABASE_URL=f"sqlite:///{workspace.home / 'tilemaker.sqlite3'}",
        TILEMAKER_PRECACHE="no",
    )
    migrated = run_command(["migrate", "--verbosity", "0"], cwd=workspace.cwd, env=env)
    assert migrated.returncode == 0, migrated.stderr
    base_port = free_port()
    ports = [base_port, base_port + 1]
    command = [
        sys.executable,
        str(REPO_ROOT / "docker" / "run_workers.py"),
        *("--workers", "2", "--base-port", str(base_port), "--host", "127.0.0.1"),
    ]
    process = subprocess.Popen(
        command,
        cwd=workspace.cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        wait_until(lambda: all(answers(port) for port in ports), timeout=120)
        killed = min(daphne_children(process.pid))
        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: len(daphne_children(process.pid) - {killed}) == 2, timeout=60)
        wait_until(lambda: all(answers(port) for port in ports), timeout=120)
        assert process.poll() is None
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=STOP_TIMEOUT_SECONDS)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0
    assert f"run_workers: Worker {killed} exited with code -9: restarting it" in output
