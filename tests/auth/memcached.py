"""A real memcached on 127.0.0.1 for the leak tests, stopped by its own pid."""

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

from tests.support.ports import free_port

MEMCACHED = "/usr/bin/memcached"
START_TIMEOUT_SECONDS = 10.0


@dataclass
class Memcached:
    port: int
    process: subprocess.Popen

    @property
    def location(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stats(self) -> dict[str, str]:
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as sock:
            sock.sendall(b"stats\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        stats = {}
        for line in data.decode().splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "STAT":
                stats[parts[1]] = parts[2]
        return stats

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)
        self.process.stderr.close()


def start_memcached() -> Memcached:
    """memcached with 16 MB items (float tiles are large), listening on loopback only."""
    if shutil.which(MEMCACHED) is None:
        raise RuntimeError(f"{MEMCACHED} is not installed (apt-get install memcached)")
    port = free_port()
    command = [MEMCACHED, "-l", "127.0.0.1", "-p", str(port), "-U", "0", "-I", "16m", "-m", "256"]
    if os.geteuid() == 0:
        # memcached refuses to run as root without naming a user to switch to.
        command += ["-u", "nobody"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            message = process.stderr.read().decode()
            process.stderr.close()
            raise RuntimeError(f"memcached exited: {message}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return Memcached(port, process)
        except OSError:
            time.sleep(0.05)
    process.kill()
    process.wait(timeout=5)
    process.stderr.close()
    raise RuntimeError("memcached did not start listening within 10 s")
