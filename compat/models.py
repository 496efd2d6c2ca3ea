from django.db import models
from oauth2_provider.settings import oauth2_settings


class AppScopes(models.Model):
    """The scopes a Mastodon app registered (``POST /api/v1/apps``): at authorize time it may ask for these and
    no others, as Mastodon allows. django-oauth-toolkit's Application has no field for them."""

    application = models.OneToOneField(oauth2_settings.APPLICATION_MODEL, on_delete=models.CASCADE,
                                       primary_key=True, related_name="registered_scopes")  # fmt: skip
    scopes = models.CharField(max_length=2048, help_text="space-separated, as registered")

    def __str__(self) -> str:
        return self.scopes
