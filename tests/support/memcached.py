"""A real memcached on 127.0.0.1, started and stopped by its own pid.

The one starter for the unit tests, the production stack and bench/: item
size, memory and connection limit are parameters. A missing binary raises,
so a test that needs memcached fails without it, never skips.
"""

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import free_port
from tests.support.processes import stop_process

MEMCACHED = "/usr/bin/memcached"
START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass
class Memcached:
    port: int = field(default_factory=free_port)
    item_size_mb: int = 1
    memory_mb: int = 64
    max_connections: int | None = None
    # Where its output goes; without one, stderr is kept for the error message.
    log: Path | None = None
    process: subprocess.Popen | None = None

    @property
    def location(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> "Memcached":
        binary = shutil.which("memcached") or MEMCACHED
        if not os.path.exists(binary):
            raise RuntimeError(f"{MEMCACHED} is not installed (apt-get install memcached)")
        command = [binary, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0"]
        command += ["-m", str(self.memory_mb), "-I", f"{self.item_size_mb}m"]
        if self.max_connections is not None:
            command += ["-c", str(self.max_connections)]
        if os.geteuid() == 0:
            # memcached refuses to run as root without naming a user to switch to.
            command += ["-u", "nobody"]
        if self.log is None:
            self.process = subprocess.Popen(
                command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
            )
        else:
            with self.log.open("ab") as log:
                self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"memcached exited: {self._output()}")
            if self._answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(
            f"memcached did not answer within {START_TIMEOUT_SECONDS:.0f} s: {self._output()}"
        )

    def _output(self) -> str:
        if self.log is not None:
            return self.log.read_text(errors="replace")[-2000:]
        if self.process.stderr is None or self.process.stderr.closed:
            return ""
        if self.process.poll() is None:
            return "(still running)"
        message = self.process.stderr.read().decode(errors="replace")
        self.process.stderr.close()
        return message

    def _answers(self) -> bool:
        try:
            return "pid" in self.stats(timeout=0.5)
        except OSError:
            return False

    def stats(self, timeout: float = 2.0) -> dict[str, str]:
        """The ``stats`` command's answer: counters such as get_hits, bytes_read."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(b"stats\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        stats = {}
        for line in data.decode().splitlines():
            parts = line.split(" ", 2)
            if len(parts) == 3 and parts[0] == "STAT":
                stats[parts[1]] = parts[2]
        return stats

    def counters(self) -> dict[str, int]:
        names = ("get_hits", "get_misses", "cmd_get", "cmd_set", "bytes_read", "bytes_written")
        stats = self.stats()
        return {name: int(stats[name]) for name in names}

    def flush(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2.0) as sock:
            sock.sendall(b"flush_all\r\n")
            if sock.recv(64) != b"OK\r\n":
                raise RuntimeError("memcached did not flush")

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process, STOP_TIMEOUT_SECONDS)
        if self.process.stderr is not None:
            self.process.stderr.close()

    def __enter__(self) -> "Memcached":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_memcached(**options) -> Memcached:
    """A started ``Memcached(**options)``; use it in ``with`` or call ``stop()``."""
    return Memcached(**options).start()
