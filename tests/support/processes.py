"""Stopping the service processes the tests start (memcached, redis-server)."""

import signal
import subprocess


def stop_process(process: subprocess.Popen, timeout_seconds: float) -> None:
    """SIGTERM (after SIGCONT: a paused process cannot handle it), then SIGKILL
    past ``timeout_seconds``; the process is reaped either way."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGCONT)
    process.terminate()
    try:
        process.wait(timeout=timeout_seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=timeout_seconds)
