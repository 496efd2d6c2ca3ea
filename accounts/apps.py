from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts import openid_fetcher
        from accounts.identities import verified_handles
        from accounts.models import Identity

        openid_fetcher.install()  # OpenID 2.0 discovery goes through the guarded fetch helper
        verified_handles.follow_writes_of(Identity)
