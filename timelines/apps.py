from django.apps import AppConfig


class TimelinesConfig(AppConfig):
    name = "timelines"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_out

        from .signals import close_the_sessions_streams

        user_logged_out.connect(close_the_sessions_streams, dispatch_uid="timelines.close_streams_on_logout")
