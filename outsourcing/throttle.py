"""The API's per-token rate limit: a sliding-window counter, one Redis round trip a request.

django-ninja's throttle keeps the time of every request in a list under the token's key and
reads and rewrites the whole list on each request: two round trips and up to
``API_RATE_LIMIT`` pickled timestamps (600 by default) per call, a tenth of an API write.
Here a token has one counter per period of its rate (a minute for "600/min"). The requests
of the last period are estimated from this period's count and the previous one's, weighted
by how much of it the last period still covers (the "sliding window counter" of rate
limiters that serve many clients). A refused request is taken back out, so a client that
keeps retrying is not locked out for longer than its rate says.

With Redis the count and the previous period's are one pipelined round trip; other caches
(the embedded defaults) do the same arithmetic through Django's cache API. Redis down:
requests pass, as with every use of the cache (``outsourcing.cache``).
"""

import threading

from django.core.cache import caches
from django.http import HttpRequest
from ninja.throttling import AuthRateThrottle

from outsourcing.cache import DOWN, FailOpenRedisCache, warn_down


class WindowCounterThrottle(AuthRateThrottle):
    def __init__(self, rate: str | None = None) -> None:
        super().__init__(rate)
        self._seen = threading.local()  # what ``wait`` needs of the refused request

    def allow_request(self, request: HttpRequest) -> bool:
        key = self.get_cache_key(request)
        if key is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        current, previous = f"{key}:{window}", f"{key}:{window - 1}"
        try:
            count, before = self._count(current, previous)
        except DOWN as exc:
            warn_down(exc)
            return True
        elapsed = now - window * self.duration
        if before * (1 - elapsed / self.duration) + count <= self.num_requests:
            return True
        self._uncount(current)
        self._seen.counts = (count - 1, before, elapsed)
        return False

    def wait(self) -> float:
        """Seconds until a request would pass: later in this period when the previous one's
        weight fades enough, else in the next, when this period's weight has."""
        count, before, elapsed = self._seen.counts
        limit, period = self.num_requests, self.duration
        if count + 1 <= limit and before:
            return max(0.0, (1 - (limit - count - 1) / before) * period - elapsed)
        fade = max(0.0, 1 - (limit - 1) / count) if count else 0.0
        return period - elapsed + fade * period

    def _count(self, current: str, previous: str) -> tuple[int, int]:
        """This request counted in the current period: (its count, the previous period's)."""
        expire = int(self.duration * 2) + 1
        cache = caches["default"]
        if isinstance(cache, FailOpenRedisCache):
            client = cache._cache.get_client(write=True)
            pipe = client.pipeline(transaction=False)
            pipe.incr(cache.make_and_validate_key(current))
            pipe.expire(cache.make_and_validate_key(current), expire)
            pipe.get(cache.make_and_validate_key(previous))
            count, _, before = pipe.execute()
            return int(count), int(before or 0)
        counts = cache.get_many([current, previous])
        count = counts.get(current, 0) + 1
        cache.set(current, count, expire)
        return count, counts.get(previous, 0)

    def _uncount(self, current: str) -> None:
        cache = caches["default"]
        try:
            if isinstance(cache, FailOpenRedisCache):
                cache._cache.get_client(write=True).decr(cache.make_and_validate_key(current))
            else:
                cache.set(current, max(0, cache.get(current, 1) - 1), int(self.duration * 2) + 1)
        except DOWN as exc:
            warn_down(exc)
