"""A Redis cache that fails open: when Redis is down, reads miss and writes are dropped.

The cache holds only what can be lost (API rate-limit counters, portal brute-force
counters, the dashboard's rows: data, never rendered HTML, so nothing per visitor); a Redis
outage must not turn every API request into an error. Outages are
logged once per minute, not per call.
"""

import logging
import time

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
_last_warning = 0.0


def warn_down(exc: Exception) -> None:
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        log.warning("cache unavailable, failing open: %s", exc)


class ReusedClientRedisCacheClient(RedisCacheClient):
    """One ``redis.Redis`` per connection pool, kept, instead of one built on every call:
    building one fills a table of ~340 response callbacks, a millisecond of every
    rate-limited API call. (The pools were already kept; clients are thread-safe.)"""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._client(connection_pool=self._get_connection_pool(write))
            self._clients[index] = client
        return client


class FailOpenRedisCache(RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except DOWN as exc:
            warn_down(exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except DOWN as exc:
            warn_down(exc)
            return {}

    def set(self, key, value, timeout=..., version=None):
        try:
            kwargs = {} if timeout is ... else {"timeout": timeout}
            return super().set(key, value, version=version, **kwargs)
        except DOWN as exc:
            warn_down(exc)
            return None

    def add(self, key, value, timeout=..., version=None):
        try:
            kwargs = {} if timeout is ... else {"timeout": timeout}
            return super().add(key, value, version=version, **kwargs)
        except DOWN as exc:
            warn_down(exc)
            return False

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except DOWN as exc:
            warn_down(exc)
            return delta

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except DOWN as exc:
            warn_down(exc)
            return False
