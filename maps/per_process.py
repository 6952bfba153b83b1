"""Objects a process builds from settings on first use, not when a module is imported."""

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerProcess(Generic[T]):
    """One ``build()`` result per process, built by the first caller of ``get``.

    Thread-safe: a semaphore or a pool built twice by two racing requests
    would bound nothing. Built on use, so importing a module reads no
    settings and starts nothing; tests may swap the value with ``set``.
    """

    def __init__(self, build: Callable[[], T]) -> None:
        self._build = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def get(self) -> T:
        value = self._value
        if value is None:
            with self._lock:
                if self._value is None:
                    self._value = self._build()
                value = self._value
        return value

    def set(self, value: T | None) -> None:
        """Use ``value`` from now on (``None``: build again on next use)."""
        with self._lock:
            self._value = value
