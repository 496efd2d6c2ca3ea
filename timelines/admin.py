"""Admin: people's blocks."""

from django.contrib import admin

from timelines.models import Block


@admin.register(Block)
class BlockAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "value", "created_at")
    list_filter = ("kind",)
