"""A real redis-server on 127.0.0.1, started and stopped by its own pid.

The one starter for tests that need the channels-redis layer. It keeps
nothing on disk. A missing binary raises, so a test that needs Redis fails
without it, never skips.
"""

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field

from tests.support.ports import free_port
from tests.support.processes import stop_process

REDIS_SERVER = "/usr/bin/redis-server"
START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 15.0


@dataclass
class Redis:
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "Redis":
        binary = shutil.which("redis-server") or REDIS_SERVER
        if not os.path.exists(binary):
            raise RuntimeError(f"{REDIS_SERVER} is not installed (apt-get install redis-server)")
        command = [binary, "--bind", "127.0.0.1", "--port", str(self.port)]
        command += ["--save", "", "--appendonly", "no", "--protected-mode", "yes"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self._output()}")
            if self.answers():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer within {START_TIMEOUT_SECONDS:.0f} s")

    def _output(self) -> str:
        message = self.process.stdout.read().decode(errors="replace")[-2000:]
        self.process.stdout.close()
        return message

    def answers(self) -> bool:
        """Whether it answers PING now."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64) == b"+PONG\r\n"
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process, STOP_TIMEOUT_SECONDS)
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> "Redis":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def start_redis() -> Redis:
    """A started ``Redis()``; use it in ``with`` or call ``stop()``."""
    return Redis().start()
