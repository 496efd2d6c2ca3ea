from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "replies"

    def ready(self) -> None:
        from replies import tasks  # noqa: F401 - registers the tasks ``jobs.enqueue`` finds by name
        from replies.destinations import wanted_events
        from replies.models import Destination, NotificationSettings, Reply
        from replies.notifications import listeners
        from replies.selectors import visible_replies
        from timelines.search import scopes

        listeners.follow_writes_of(NotificationSettings)
        wanted_events.follow_writes_of(Destination)
        # a person's replies are part of what they search, and an unread reply is kept by retention
        scopes.register(name="replies", model=Reply, rows=lambda user: visible_replies(user=user))
