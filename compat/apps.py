from django.apps import AppConfig


class CompatConfig(AppConfig):
    name = "compat"
    verbose_name = "Client app APIs"

    def ready(self) -> None:
        from compat.mastodon import signals  # noqa: F401  (connects its receivers)
