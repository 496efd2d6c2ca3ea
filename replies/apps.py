from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "replies"

    def ready(self) -> None:
        from replies import tasks  # noqa: F401 - registers the tasks ``jobs.enqueue`` finds by name
        from replies.models import NotificationSettings
        from replies.notifications import listeners

        listeners.follow_writes_of(NotificationSettings)
