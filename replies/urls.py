from django.urls import path

from replies import views

urlpatterns = [
    path("replies/", views.replies, name="replies"),
    path("replies/read/", views.replies_read, name="replies_read"),
    path("identities/", views.identity_list, name="identities"),
    path("identities/<int:identity_id>/verify/", views.identity_verify, name="identity_verify"),
    path("identities/<int:identity_id>/code/", views.identity_send_code, name="identity_send_code"),
    path("identities/<int:identity_id>/remove/", views.identity_remove, name="identity_remove"),
    path("settings/notifications/", views.notification_settings_page, name="notification_settings"),
    path("settings/notifications/destinations/", views.destination_add, name="destination_add"),
    path("settings/notifications/destinations/<int:destination_id>/", views.destination_change,
         name="destination_change"),  # fmt: skip
    path("blocks/", views.block_list, name="blocks"),
    path("blocks/<int:block_id>/undo/", views.block_undo, name="block_undo"),
]
