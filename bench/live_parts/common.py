"""What every process of the live benchmark shares: goals, names, its Redis, its channel-layer prefix."""

import os

from _setup import bench_redis_url

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/3"
PREFIX = "chorus_bench_live"
GOAL_P50_MS = 20.0
GOAL_P99_MS = 100.0
GOAL_FANOUT_S = 1.0
USERNAME = "bench-live-{:04d}"
STREAM_SOURCE = "bench-live://stream/{}"
FANOUT_SOURCE = "bench-live://fanout"


def redis_url() -> str:
    return bench_redis_url(DEFAULT_REDIS_URL)


def use_bench_prefix() -> None:
    """Before Django reads its settings: the production channel layer, with this benchmark's own prefix."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
    import aggregator.settings as settings_module

    layer = settings_module.CHANNEL_LAYERS["default"]
    if not layer["BACKEND"].endswith("RedisPubSubChannelLayer"):
        raise SystemExit(f"expected the Redis pub/sub channel layer, settings give {layer['BACKEND']}")
    layer.setdefault("CONFIG", {})["prefix"] = PREFIX


def bare_layer():
    """The production layer class (channels_redis' pub/sub layer plus ``group_send_many``), outside Django."""
    from aggregator.events.layers import PipelinedRedisPubSubChannelLayer

    return PipelinedRedisPubSubChannelLayer(hosts=[redis_url()], prefix=PREFIX)


def setup_child_django() -> None:
    """A child process (worker): Django set up on the database and Redis the parent chose, with the prefix."""
    use_bench_prefix()
    import django

    django.setup()
