from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "replies"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from .blocks import blockers
        from .identities import verified_handles
        from .models import Block, Identity, NotificationSettings
        from .notifications import listeners

        # Every write, the admin's and cascades (a person deleted) included, renews what processes hold.
        for model, snapshot in ((Block, blockers), (Identity, verified_handles), (NotificationSettings, listeners)):

            def changed(snapshot=snapshot, **kwargs) -> None:
                snapshot.changed()

            name = model._meta.label_lower
            post_save.connect(changed, sender=model, dispatch_uid=f"{name}.snapshot.saved", weak=False)
            post_delete.connect(changed, sender=model, dispatch_uid=f"{name}.snapshot.deleted", weak=False)
