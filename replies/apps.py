from django.apps import AppConfig


class RepliesConfig(AppConfig):
    name = "replies"

    def ready(self) -> None:
        from .blocks import blockers
        from .identities import verified_handles
        from .models import Block, Identity, NotificationSettings
        from .notifications import listeners

        blockers.follow_writes_of(Block)
        verified_handles.follow_writes_of(Identity)
        listeners.follow_writes_of(NotificationSettings)
