from django.apps import AppConfig


class TracksConfig(AppConfig):
    name = "tracks"

    def ready(self) -> None:
        from .index import tracks_by_key
        from .models import Track

        tracks_by_key.follow_writes_of(Track)
