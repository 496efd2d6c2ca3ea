from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from . import openid_fetcher

        openid_fetcher.install()  # OpenID 2.0 discovery goes through the guarded fetch helper
