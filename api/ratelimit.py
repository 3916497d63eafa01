"""The per-key rate limit: at most `ApiKey.rate_limit` requests in any 60 seconds.

Kept in the web process's memory (a sliding window of the last minute's request times
per key): checking it costs no database write. With several web processes each counts
its own share, so the operator sets the limit per process.
"""
from __future__ import annotations

import threading
import time
from collections import deque

WINDOW = 60.0


class RateLimiter:
    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key_id: int, limit: int) -> int:
        """0 and the request counted, or the whole seconds until the key may ask again."""
        at = self._clock()
        with self._lock:
            seen = self._seen.setdefault(key_id, deque())
            while seen and seen[0] <= at - WINDOW:
                seen.popleft()
            if len(seen) >= limit:
                return max(1, int(-(-(seen[0] + WINDOW - at) // 1)))
            seen.append(at)
            return 0
