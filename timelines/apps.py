from django.apps import AppConfig


class TimelinesConfig(AppConfig):
    name = "timelines"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from timelines.blocks import blockers
        from timelines.models import Block
        from timelines.signals import close_the_sessions_streams

        blockers.follow_writes_of(Block)
        user_logged_out.connect(close_the_sessions_streams, dispatch_uid="timelines.close_streams_on_logout")
