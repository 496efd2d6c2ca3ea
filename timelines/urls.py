from django.urls import path

from timelines import views

urlpatterns = [
    path("", views.timeline, name="timeline"),
    path("read/", views.mark_read, name="mark_read"),
    path("read/all/", views.mark_all_read, name="mark_all_read"),
]
