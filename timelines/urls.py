from django.urls import path

from timelines import history_views, views

urlpatterns = [
    path("", views.timeline, name="timeline"),
    path("read/", views.mark_read, name="mark_read"),
    path("read/all/", views.mark_all_read, name="mark_all_read"),
    path("posts/html/", views.post_fragments, name="post_fragments"),
    path("reading/", views.reading_settings, name="reading_settings"),
    path("search/", history_views.search, name="search"),
    path("starred/", history_views.starred, name="starred"),
    path("starred/toggle/", history_views.star_toggle, name="star_toggle"),
    path("starred/export.json", history_views.starred_export, name="starred_export"),
    path("starred/feed/<str:token>/", history_views.starred_feed, name="starred_feed"),
    path("history/export.jsonl", history_views.history_export, name="history_export"),
]
