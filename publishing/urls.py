from django.urls import path

from publishing import views, websub_hub

urlpatterns = [
    path("websub/hub/", websub_hub.endpoint, name="websub_hub"),
    path("compose/", views.compose, name="compose"),
    path("posts/<int:post_id>/delete/", views.delete, name="post_delete"),
    path("people/<str:username>/", views.profile, name="profile"),
    path("people/<str:username>/feed.atom", views.atom, name="profile_feed"),
    path("people/<str:username>/followers/", views.followers, name="profile_followers"),
    path("people/<str:username>/posts/<str:slug>/", views.permalink, name="post_permalink"),
]
