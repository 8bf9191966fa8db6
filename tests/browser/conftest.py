"""Browser tests: each starts with a fresh Celery connection pool.

Some earlier tests point Celery at a dead broker to prove the app survives it; the
connection pool they open outlives their monkeypatch, and a live-server request that then
enqueues after commit would retry that dead broker for minutes. Added by the post-mortem branch.
"""

import pytest


@pytest.fixture(autouse=True)
def _fresh_broker_pool():
    from outsourcing.celery import app

    if app._pool is not None:
        app._pool.force_close_all()
        app._pool = None
    yield
