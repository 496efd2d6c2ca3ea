from django.contrib import admin
from django.urls import include, path

from . import views
from .api import api

urlpatterns = [
    path("", include("timelines.urls")),
    path("follow/", views.follow, name="follow"),
    path("subscriptions/", views.subscription_list, name="subscriptions"),
    path("subscriptions/<int:subscription_id>/tags/", views.subscription_tags, name="subscription_tags"),
    path("subscriptions/<int:subscription_id>/unfollow/", views.unfollow, name="unfollow"),
    path("subscriptions/import/", views.opml_import, name="opml_import"),
    path("subscriptions/export.opml", views.opml_export, name="opml_export"),
    path("sources/<int:source_id>/", views.source_detail, name="source"),
    path("sources/<int:source_id>/refresh/", views.refresh, name="source_refresh"),
    path("settings/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]
