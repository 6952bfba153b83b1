"""Run ``tilemaker`` commands (or any server command) as real subprocesses, talk to them over HTTP.

Every wait has a hard timeout, and a process still running when a test ends
is killed, so a hung server fails one test instead of the whole run.
"""

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0
HTTP_TIMEOUT_SECONDS = 60.0
READY = re.compile(r"TileMaker ready: (http://\S+)")

LAUNCHERS = {
    # What the ``tilemaker`` console script runs.
    "console-script": [sys.executable, "-c", "from tilemaker_site.cli import main; main()"],
    "manage.py": [sys.executable, str(REPO_ROOT / "manage.py")],
}


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``folder``: relative path -> (size, mtime in ns)."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
    }


def command_env(*, tmpdir: Path, home: Path, extra: dict | None = None) -> dict[str, str]:
    """A hermetic environment: no TILEMAKER_* from the caller, own TMPDIR and HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMAKER_")}
    env["TMPDIR"] = str(tmpdir)
    env["HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def command_line(args, launcher: str | None) -> list[str]:
    """``args`` after the launcher's interpreter and script; ``launcher=None``: ``args`` as is."""
    return [*LAUNCHERS[launcher], *args] if launcher is not None else [*args]


def run_command(args, *, cwd: Path, env: dict, launcher: str = "console-script", timeout=60.0):
    """Run a command to completion; ``CompletedProcess`` with text stdout/stderr."""
    return subprocess.run(
        command_line(args, launcher),
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class ServerProcess:
    """A command that serves until signalled; output collected line by line.

    ``launcher`` names how a ``tilemaker`` command is run (``LAUNCHERS``);
    ``None`` runs ``args`` as the whole command line.
    """

    def __init__(self, args, *, cwd: Path, env: dict, launcher: str | None = "console-script"):
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            command_line(args, launcher),
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            # Its own process group, so that whatever it starts (workers) can be
            # found and killed too.
            start_new_session=True,
        )
        self.lines: list[str] = []
        # Seconds from the start to each of ``lines`` (for bench/bench_startup.py).
        self.line_seconds: list[float] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url: str | None = None
        self.http = requests.Session()
        self.http.trust_env = False

    def _read(self) -> None:
        for line in self.process.stdout:
            with self._changed:
                self.line_seconds.append(time.perf_counter() - self.started)
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)

    def wait_for(self, pattern: re.Pattern, timeout: float = START_TIMEOUT_SECONDS) -> re.Match:
        return self.wait_for_timed(pattern, timeout)[1]

    def wait_for_timed(
        self, pattern: re.Pattern, timeout: float = START_TIMEOUT_SECONDS
    ) -> tuple[float, re.Match]:
        """The first line matching ``pattern``: seconds from the start it was printed, match."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for seconds, line in zip(self.line_seconds, self.lines, strict=True):
                    match = pattern.search(line)
                    if match:
                        return seconds, match
                if self.process.poll() is not None and not self._reader.is_alive():
                    raise AssertionError(
                        f"exited with {self.process.returncode} before {pattern.pattern!r}:\n"
                        + "\n".join(self.lines)
                    )
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no {pattern.pattern!r} within {timeout:.0f} s:\n" + "\n".join(self.lines)
                    )
                self._changed.wait(timeout=min(remaining, 0.5))

    def wait_ready(self) -> str:
        self.url = self.wait_for(READY).group(1)
        return self.url

    def get(self, path: str, **params) -> requests.Response:
        return self.http.get(
            self.url + path.lstrip("/"), params=params, timeout=HTTP_TIMEOUT_SECONDS
        )

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Send ``signum`` and return the exit code."""
        self.process.send_signal(signum)
        try:
            code = self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(
                f"still running {STOP_TIMEOUT_SECONDS:.0f} s after {signum}"
            ) from None
        self._reader.join(timeout=5)
        return code

    def group_alive(self) -> bool:
        """Whether any process of the command's process group is still running."""
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def wait_group_gone(self, timeout: float = STOP_TIMEOUT_SECONDS) -> bool:
        deadline = time.monotonic() + timeout
        while self.group_alive():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        if self.group_alive():
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        self.http.close()
        # Closing the pipe while the reader thread is blocked on it would
        # deadlock; once the group is dead the reader sees the end of it.
        self._reader.join(timeout=5)
        if not self._reader.is_alive():
            self.process.stdout.close()


def wait_until(condition, timeout: float = 60.0):
    """``condition()``'s first true value, polled until ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
