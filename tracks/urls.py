from django.urls import path

from tracks import views

urlpatterns = [
    path("tracks/", views.tracks, name="tracks"),
    path("tracks/read/", views.tracks_read, name="tracks_read"),
    path("tracks/<int:track_id>/", views.tracks, name="track"),
    path("tracks/<int:track_id>/remove/", views.track_remove, name="track_remove"),
    path("tracks/<int:track_id>/alert/", views.track_alert, name="track_alert"),
]
