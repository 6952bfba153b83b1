"""What bounds heavy work in a process: the render gate, the render threads of
async views, and the byte budget of cut-outs in flight.

Each is built from settings on first use (``PerProcess``), not on import.
"""

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.conf import settings

from maps.per_process import PerProcess

# --- The concurrency gate ------------------------------------------------------

render_gate = PerProcess(lambda: threading.BoundedSemaphore(settings.MAX_CONCURRENT_RENDERS))


@contextmanager
def render_slot() -> Iterator[None]:
    """Hold one of ``MAX_CONCURRENT_RENDERS`` slots for heavy work.

    Under ASGI every sync request runs in its own thread, without limit: a
    burst of cut-outs would otherwise allocate all at once. Waiting threads
    hold no pixel memory.
    """
    with render_gate.get():
        yield


class Busy(Exception):
    """The in-flight byte budget stayed full for ``INFLIGHT_WAIT_SECONDS``."""


class ByteBudget:
    """A byte-counting semaphore: holds reserve bytes, wait while the total would exceed it.

    A single reservation larger than the whole budget is admitted when
    nothing else is held, so no cut-out the pixel cap allows waits forever.
    """

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        self.held_bytes = 0
        self._changed = threading.Condition()

    def reserve(self, nbytes: int, *, timeout_seconds: float) -> "Hold":
        def room() -> bool:
            return self.held_bytes == 0 or self.held_bytes + nbytes <= self.limit_bytes

        with self._changed:
            if not self._changed.wait_for(room, timeout=timeout_seconds):
                raise Busy
            self.held_bytes += nbytes
        return Hold(self, nbytes)

    def _give_back(self, nbytes: int) -> None:
        with self._changed:
            self.held_bytes -= nbytes
            self._changed.notify_all()


class Hold:
    """Bytes reserved in a ``ByteBudget``; ``shrink`` to what is really held, ``release`` once."""

    def __init__(self, budget: ByteBudget, nbytes: int) -> None:
        self._budget = budget
        self._lock = threading.Lock()
        self.nbytes = nbytes

    def shrink(self, nbytes: int) -> None:
        with self._lock:
            freed, self.nbytes = max(0, self.nbytes - nbytes), min(self.nbytes, nbytes)
        self._budget._give_back(freed)

    def release(self) -> None:
        self.shrink(0)


inflight_budget = PerProcess(lambda: ByteBudget(settings.MAX_INFLIGHT_MB * 1024 * 1024))


# --- Threads for async views ---------------------------------------------------

# Rendering from async views happens in this fixed pool, at most
# MAX_CONCURRENT_RENDERS at once (as the render gate): waiting requests hold
# no thread and no pixel memory.
render_threads = PerProcess(
    lambda: ThreadPoolExecutor(settings.MAX_CONCURRENT_RENDERS, thread_name_prefix="tiles-render")
)


async def in_render_thread(function: Callable, *args):
    """``function(*args)`` in the render pool, from async code (no database access there)."""
    return await asyncio.get_running_loop().run_in_executor(render_threads.get(), function, *args)
