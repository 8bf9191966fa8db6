"""Browser tests: each starts with a fresh Celery connection pool.

Some earlier tests point Celery at a dead broker to prove the app survives it; the
connection pool they open outlives their monkeypatch, and a live-server request that then
enqueues after commit would retry that dead broker for minutes.
"""

import pytest


@pytest.fixture(autouse=True)
def _fresh_broker_pool():
    from outsourcing.celery import app

    # Forget (without closing: others may hold them) the cached pools; the next send builds
    # them for the broker configured now.
    app._pool = None
    app.amqp._producer_pool = None
    yield
