"""Admin: an administrator may mark identities verified (the kinds Chorus cannot check itself yet)."""

from django.contrib import admin

from .models import Block, Identity, Notification, NotificationSettings


@admin.register(Identity)
class IdentityAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "value", "verified", "verified_at", "last_check_error")
    list_filter = ("kind", "verified")
    search_fields = ("value", "user__username")


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "value", "created_at")
    list_filter = ("kind",)


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "method", "time_zone", "quiet_start", "quiet_end", "digest_hour", "last_digest_at")
    list_filter = ("method",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "post", "reason", "created_at", "claimed_at", "sent_at", "outcome")
    list_filter = ("outcome",)
    raw_id_fields = ("post",)
