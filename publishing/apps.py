from django.apps import AppConfig


class PublishingConfig(AppConfig):
    name = "publishing"

    def ready(self) -> None:
        from publishing import tasks  # noqa: F401 - registers the tasks ``jobs.enqueue`` finds by name
