"""The ASGI web process on PostgreSQL borrows its database connections from a bounded pool: many requests at
once never hold more than DB_POOL_MAX_SIZE connections, and the connections outlive the requests (no connect
per request)."""

import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import urllib3
from django.db import connection

from tests.servers.processes import (
    free_port,
    production_env,
    require_production_services,
    spawn,
    stop,
    wait_for_port,
)

pytestmark = [pytest.mark.production, pytest.mark.django_db(transaction=True)]

POOL_SIZE = 3
REQUESTS = 60


def _connections_of(application_name: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name])
        return cursor.fetchone()[0]


def test_concurrent_requests_share_a_bounded_pool_of_connections():
    require_production_services()
    name = f"chorus-web-{uuid.uuid4().hex[:8]}"
    env = production_env()
    env.update(DATABASE_URL=f"{env['DATABASE_URL']}?application_name={name}", DB_POOL_MAX_SIZE=str(POOL_SIZE))
    env.pop("DB_CONN_MAX_AGE")  # the web process's own default, as the Procfile runs it
    port = free_port()
    web = spawn([sys.executable, "-m", "uvicorn", "aggregator.asgi:application", "--host", "127.0.0.1", "--port",
                 str(port), "--log-level", "warning"], env=env)  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        held: list[int] = []
        finished = threading.Event()

        def watch() -> None:  # what the web process holds while the requests run
            while not finished.is_set():
                held.append(_connections_of(name))
                finished.wait(0.005)

        watcher = threading.Thread(target=watch)
        watcher.start()
        http = urllib3.PoolManager(maxsize=20)
        # An unknown WebSub callback: one indexed lookup in the database, answered 410.
        url = f"http://127.0.0.1:{port}/websub/no-such-token/"
        with ThreadPoolExecutor(max_workers=20) as pool:
            statuses = list(pool.map(lambda _: http.request("POST", url, body=b"<feed/>").status, range(REQUESTS)))
        finished.set()
        watcher.join()

        assert statuses == [410] * REQUESTS
        assert max(held) <= POOL_SIZE, f"the web process held {max(held)} connections (pool of {POOL_SIZE})"
        assert _connections_of(name) >= 1, "no connection outlived its request: each request connected anew"
    finally:
        print("web:", stop(web)[-3000:])
