from django.apps import AppConfig


class TracksConfig(AppConfig):
    name = "tracks"

    def ready(self) -> None:
        from timelines.search import scopes
        from tracks.index import tracks_by_key
        from tracks.models import Track, TrackMatch
        from tracks.selectors import visible_matches

        tracks_by_key.follow_writes_of(Track)
        # a person's track matches are part of what they search, and an unread match is kept by retention
        scopes.register(name="tracks", model=TrackMatch, rows=lambda user: visible_matches(user=user))
