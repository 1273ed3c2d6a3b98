"""At most ``limit`` requests at a time to one host: politeness towards the sites we poll.

Within one process, threads share semaphores. Workers on several processes or hosts (Celery workers writing to
one lake) share PostgreSQL advisory locks instead: a request holds one of the host's ``limit`` lock slots for
its duration, on a session of its own, so the slots hold across every worker and are released by the server
when a worker dies."""

from __future__ import annotations

import threading
import time
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Protocol

NAMESPACE = "newswatch-host:"  # keeps our advisory lock keys apart from any other application's
WAIT_STEP_S = 0.05  # pause between rounds of trying a host's slots


class HostSlots(Protocol):
    def hold(self, host: str) -> AbstractContextManager[None]: ...


class LocalHostSlots:
    """Per-host semaphores shared by the threads of this process."""

    def __init__(self, limit: int) -> None:
        self._semaphores: dict[str, threading.BoundedSemaphore] = defaultdict(
            lambda: threading.BoundedSemaphore(limit))
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, host: str) -> Iterator[None]:
        with self._lock:
            semaphore = self._semaphores[host]
        with semaphore:
            yield


def host_key(host: str) -> int:
    """A stable signed 32-bit key for a host (the first half of a two-key advisory lock)."""
    value = zlib.crc32((NAMESPACE + host.lower()).encode())
    return value - 2**32 if value >= 2**31 else value


class PostgresHostSlots:
    """Per-host slots as PostgreSQL advisory locks (key: the host, slot number), shared by every process that
    connects to the same server."""

    def __init__(self, dsn: str, limit: int, timeout_s: float = 600.0) -> None:
        self._dsn = dsn
        self._limit = limit
        self._timeout_s = timeout_s

    @contextmanager
    def hold(self, host: str) -> Iterator[None]:
        import psycopg2

        connection = psycopg2.connect(self._dsn)  # advisory locks belong to a session: one per request
        connection.autocommit = True
        try:
            self._acquire(connection, host_key(host))
            yield
        finally:
            connection.close()  # ends the session, which releases its lock

    def _acquire(self, connection: object, key: int) -> None:
        deadline = time.monotonic() + self._timeout_s
        with connection.cursor() as cursor:  # type: ignore[attr-defined]
            while True:
                for slot in range(self._limit):
                    cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", (key, slot))
                    if cursor.fetchone()[0]:
                        return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no free request slot for this host after {self._timeout_s:g} s")
                time.sleep(WAIT_STEP_S)
