from django.apps import AppConfig


class TracksConfig(AppConfig):
    name = "tracks"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .index import tracks_changed
        from .models import Track

        def changed(**kwargs) -> None:
            tracks_changed()

        # Every write of a track, the admin's and cascades (a person deleted) included, renews the index.
        post_save.connect(changed, sender=Track, dispatch_uid="tracks.index.saved", weak=False)
        post_delete.connect(changed, sender=Track, dispatch_uid="tracks.index.deleted", weak=False)
