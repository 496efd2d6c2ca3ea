"""A Celery worker of the project's app, run as ``celery -A aggregator worker`` runs it (prefork pool), for the
benchmarks that measure the production path through the broker (``bench/websub.py``, ``bench/xmpp_push.py``).
The caller sets Django up and connects its signal receivers (stamps) first; the pool's processes fork after."""


def run(concurrency: int, *, purge: bool = False, on_ready=None) -> None:
    """Run the worker until SIGTERM. ``purge``: drop messages a previous run left on the broker. ``on_ready``:
    called once the worker consumes (Celery's ``worker_ready``)."""
    from celery.signals import worker_ready

    from aggregator.celery import app

    if on_ready is not None:
        worker_ready.connect(lambda **_: on_ready(), weak=False)
    argv = ["worker", "--loglevel=warning", f"--concurrency={concurrency}", "--pool=prefork", "--without-gossip",
            "--without-mingle", "--without-heartbeat"]  # fmt: skip
    app.worker_main([*argv, "--purge"] if purge else argv)
