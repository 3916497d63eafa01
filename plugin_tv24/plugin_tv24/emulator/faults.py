"""Failures to inject into the emulated platform, so tests can see how the billing copes.

Faults apply to provider API calls only (``/v2/...``), never to the ``/_emulator/``
control endpoints, so a test can always inspect and repair the emulator.

* ``fail_next(n, status)``: the next ``n`` calls answer ``status`` in the platform's error
  envelope (JSON), as an overloaded platform does;
* ``delay_next(n, seconds)``: the next ``n`` calls wait before being handled, to make
  clients time out;
* ``down()``: every call gets what a front proxy gives when the platform behind it is
  gone: ``502 Bad Gateway`` with an HTML page (not JSON), until ``up()``;
* ``latency``: seconds added to every answer, as a real platform tens of milliseconds
  away (benchmarks); a standing setting, not a fault: ``clear()`` keeps it.

Queued faults are consumed in order, one per call, a delay and a failure independently.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Any


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures: deque[int] = deque()
        self._delays: deque[float] = deque()
        self._down = False
        self.latency = 0.0

    def set_latency(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"latency needs seconds >= 0, got {seconds}")
        self.latency = float(seconds)

    def fail_next(self, n: int = 1, status: int = 503) -> None:
        if n < 0 or not 400 <= status <= 599:
            raise ValueError(f"fail_next needs n >= 0 and an error status, got n={n}, status={status}")
        with self._lock:
            self._failures.extend([status] * n)

    def delay_next(self, n: int = 1, seconds: float = 1.0) -> None:
        if n < 0 or seconds < 0:
            raise ValueError(f"delay_next needs n >= 0 and seconds >= 0, got n={n}, seconds={seconds}")
        with self._lock:
            self._delays.extend([seconds] * n)

    def down(self) -> None:
        with self._lock:
            self._down = True

    def up(self) -> None:
        with self._lock:
            self._down = False

    @property
    def is_down(self) -> bool:
        return self._down

    def clear(self) -> None:
        with self._lock:
            self._failures.clear()
            self._delays.clear()
            self._down = False

    def take(self) -> tuple[float, int | None]:
        """Consume the faults for one call: (seconds to wait, status to fail with or None)."""
        with self._lock:
            delay = self._delays.popleft() if self._delays else 0.0
            status = self._failures.popleft() if self._failures else None
            return delay + self.latency, status

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"down": self._down, "fail_next": list(self._failures), "delay_next": list(self._delays),
                    "latency": self.latency}
