"""The web process: uvicorn serving the project's ASGI app, as production runs it."""

import signal

from live_parts.common import use_bench_prefix


def run(args) -> None:
    import aggregator.asgi  # noqa: F401 - loaded first, as uvicorn loads it: its defaults (DB_CONN_MAX_AGE) apply
    use_bench_prefix()  # the settings' layer dict, before the first event makes a layer from it
    import uvicorn

    if args.profile_out:  # --profile-web: cProfile the event loop thread between SIGUSR1 and SIGUSR2
        import cProfile

        profiler = cProfile.Profile()
        signal.signal(signal.SIGUSR1, lambda *_: profiler.enable())

        def stop(*_):
            profiler.disable()
            profiler.dump_stats(args.profile_out)

        signal.signal(signal.SIGUSR2, stop)

    # What `uvicorn aggregator.asgi:application --port P [--workers N]` runs (that CLI calls uvicorn.run with these
    # values); more than one worker: uvicorn starts them as processes of their own, sharing the port.
    uvicorn.run("aggregator.asgi:application", host="127.0.0.1", port=args.port, log_level="warning",
                workers=getattr(args, "web_workers", 1))  # fmt: skip
