"""A Redis cache that fails open: when Redis is down, reads miss and writes are dropped.

The cache holds only what can be lost (API rate-limit counters, portal brute-force
counters, the dashboard's rows: data, never rendered HTML, so nothing per visitor); a Redis
outage must not turn every API request into an error. Outages are
logged once per minute, not per call.
"""

import logging
import time

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)
_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
_last_warning = 0.0


def _warn(exc: Exception) -> None:
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        log.warning("cache unavailable, failing open: %s", exc)


class FailOpenRedisCache(RedisCache):
    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except _DOWN as exc:
            _warn(exc)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except _DOWN as exc:
            _warn(exc)
            return {}

    def set(self, key, value, timeout=..., version=None):
        try:
            kwargs = {} if timeout is ... else {"timeout": timeout}
            return super().set(key, value, version=version, **kwargs)
        except _DOWN as exc:
            _warn(exc)
            return None

    def add(self, key, value, timeout=..., version=None):
        try:
            kwargs = {} if timeout is ... else {"timeout": timeout}
            return super().add(key, value, version=version, **kwargs)
        except _DOWN as exc:
            _warn(exc)
            return False

    def incr(self, key, delta=1, version=None):
        try:
            return super().incr(key, delta, version)
        except _DOWN as exc:
            _warn(exc)
            return delta

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except _DOWN as exc:
            _warn(exc)
            return False
