from django.apps import AppConfig


class TracksConfig(AppConfig):
    name = "tracks"

    def ready(self) -> None:
        from tracks.index import tracks_by_key
        from tracks.models import Track

        tracks_by_key.follow_writes_of(Track)
