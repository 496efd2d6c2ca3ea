"""Admin: reply notifications and their settings."""

from django.contrib import admin

from replies.models import Notification, NotificationSettings


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ("user", "method", "time_zone", "quiet_start", "quiet_end", "digest_hour", "last_digest_at")
    list_filter = ("method",)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "post", "reason", "created_at", "claimed_at", "sent_at", "outcome")
    list_filter = ("outcome",)
    raw_id_fields = ("post",)
