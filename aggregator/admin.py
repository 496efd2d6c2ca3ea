from django.contrib import admin

from aggregator.models import Post, Source, Subscription


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("address", "title", "status", "last_fetch_at", "next_poll_at", "error_count")
    list_filter = ("status", "kind")
    search_fields = ("address", "title")


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "source", "created_at")
    raw_id_fields = ("source",)


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ("title", "source", "published")
    raw_id_fields = ("source",)
    search_fields = ("title", "guid")
