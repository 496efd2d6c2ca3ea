from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "replies"

    def ready(self) -> None:
        from replies import tasks  # noqa: F401 - registers the tasks ``jobs.enqueue`` finds by name
        from replies.destinations import wanted_events
        from replies.models import Destination, NotificationSettings
        from replies.notifications import listeners

        listeners.follow_writes_of(NotificationSettings)
        wanted_events.follow_writes_of(Destination)
