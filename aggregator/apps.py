from django.apps import AppConfig


class AggregatorConfig(AppConfig):
    name = "aggregator"
    verbose_name = "Sources and ingest"

    def ready(self) -> None:
        from aggregator import tasks  # noqa: F401 - registers the tasks ``jobs.enqueue`` finds by name
        from aggregator.ingest.websub_deliveries import callback_targets
        from aggregator.models import WebSubSubscription

        callback_targets.follow_writes_of(WebSubSubscription)
