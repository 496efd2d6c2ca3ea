"""An independent WebSub hub on loopback: PyPI's Flask-WebSub (pinned in the test extras), run as a child process.

Its Celery tasks run eagerly, so the hub verifies intent before it answers a subscription request and delivers
a publish to every callback before it answers the publish: a test waits on those answers, not on a sleep.
Usage: ``python -m tests.servers.websub_hub PORT SQLITE_PATH``; the hub is at ``http://127.0.0.1:PORT/hub``.
"""

import sys

from celery import Celery
from flask import Flask
from flask_websub.hub import Hub, SQLite3HubStorage

MIN_LEASE = 60


def build(storage_path: str) -> Flask:
    app = Flask(__name__)
    app.config.update(PUBLISH_SUPPORTED=True, HUB_MIN_LEASE_SECONDS=MIN_LEASE)
    celery = Celery("websub_hub", broker="memory://")
    celery.conf.task_always_eager = True
    hub = Hub(SQLite3HubStorage(storage_path), celery, SIGNATURE_ALGORITHM="sha256", REQUEST_TIMEOUT=10,
              MAX_ATTEMPTS=0)  # fmt: skip
    app.register_blueprint(hub.build_blueprint(url_prefix="/hub"))
    return app


if __name__ == "__main__":
    port, storage_path = int(sys.argv[1]), sys.argv[2]
    build(storage_path).run(host="127.0.0.1", port=port, threaded=True)
