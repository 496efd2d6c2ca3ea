"""The Google Reader API, mounted at /api/greader: the server address people give their app."""

from django.urls import path

from compat.greader import views

API = "reader/api/0/"

urlpatterns = [
    path("accounts/ClientLogin", views.client_login, name="greader_login"),
    path(API + "token", views.token),
    path(API + "user-info", views.user_info),
    path(API + "tag/list", views.tag_list),
    path(API + "subscription/list", views.subscription_list),
    path(API + "subscription/edit", views.subscription_edit),
    path(API + "subscription/quickadd", views.quickadd),
    path(API + "stream/items/ids", views.stream_item_ids),
    path(API + "stream/items/contents", views.stream_items_contents),
    path(API + "stream/contents/", views.stream_contents),
    path(API + "stream/contents/<path:stream_id>", views.stream_contents),
    path(API + "edit-tag", views.edit_tag),
    path(API + "mark-all-as-read", views.mark_all_as_read),
    path(API + "unread-count", views.unread_count),
    path(API + "rename-tag", views.rename_tag),
    path(API + "disable-tag", views.disable_tag),
    path(API + "<path:rest>", views.not_implemented),
]
