from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("theme/", views.theme, name="theme"),
    path("tokens/", views.tokens, name="tokens"),
    path("tokens/<int:token_id>/revoke/", views.revoke, name="token_revoke"),
    path("app-passwords/", views.app_passwords, name="app_passwords"),
    path("app-passwords/<int:app_password_id>/revoke/", views.revoke_app_password_view, name="app_password_revoke"),
    path("apps/<int:token_id>/revoke/", views.revoke_app, name="app_token_revoke"),
    path("logins/", views.logins, name="logins"),
    path("logins/password/remove/", views.remove_password, name="password_remove"),
]
