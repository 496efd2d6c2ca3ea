"""Admin: an administrator may mark identities verified (the kinds Chorus cannot check itself yet)."""

from django.contrib import admin

from accounts.models import Identity


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "value", "verified", "verified_at", "last_check_error")
    list_filter = ("kind", "verified")
    search_fields = ("value", "user__username")
