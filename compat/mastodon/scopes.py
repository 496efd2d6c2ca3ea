"""Which scopes an app may be granted: those it registered (as Mastodon's Doorkeeper checks them: each asked
scope must be one registered, by name). Plugged into django-oauth-toolkit (checked with 3.4) as its
``SCOPES_BACKEND_CLASS``; apps registered before their scopes were stored may ask for any known scope."""

from oauth2_provider.scopes import SettingsScopes

from compat.models import AppScopes


class RegisteredScopes(SettingsScopes):
    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        known = super().get_available_scopes(application, request, *args, **kwargs)
        if application is None:
            return known
        registered = AppScopes.objects.filter(application=application).values_list("scopes", flat=True).first()
        if registered is None:
            return known
        return [scope for scope in known if scope in registered.split()]
