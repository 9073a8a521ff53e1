"""A thread-safe token bucket: every request, from every worker, takes one token first.

TMDb limits requests per second per client. Tokens refill at ``rate`` per second up to
``burst``; a 429 answer pauses the whole bucket for its ``Retry-After`` (all workers wait,
not just the one that was told) and empties it, so the run restarts slowly instead of
bursting straight back into the limit.
"""

import threading
import time

_EPS = 1e-9                          # float slack: a wait shorter than this is no wait


class TokenBucket:
    def __init__(self, rate: float, burst: float = None, clock=time.monotonic, sleep=time.sleep):
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        self.burst = max(1.0, float(burst if burst is not None else 1.0))
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._tokens = self.burst
        self._stamp = clock()
        self._paused_until = 0.0

    def _refill(self, now):
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def acquire(self) -> None:
        """Block until a request may be sent."""
        while True:
            with self._lock:
                now = self._clock()
                if now < self._paused_until - _EPS:
                    wait = self._paused_until - now
                else:
                    self._refill(now)
                    if self._tokens >= 1.0 - _EPS:
                        self._tokens = max(0.0, self._tokens - 1.0)
                        return
                    wait = (1.0 - self._tokens) / self.rate
            self._sleep(wait)

    def pause(self, seconds: float) -> None:
        """Nobody sends anything for ``seconds`` (a 429's Retry-After); then the bucket starts empty."""
        with self._lock:
            now = self._clock()
            until = now + max(0.0, seconds)
            if until > self._paused_until:
                self._paused_until = until
                self._tokens = 0.0
                self._stamp = until
