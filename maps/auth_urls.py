"""Login, logout and ``me`` under ``/auth/``.

The namespace is social-auth's own (``social``): social-auth reverses
``social:complete`` to build the callback URL it sends to GitHub.
"""

from django.urls import path

from tilemaker_site.accounts import views as auth_views

app_name = "social"

urlpatterns = [
    path("me", auth_views.me, name="me"),
    path("login/<str:backend>/", auth_views.begin, name="begin"),
    path("complete/<str:backend>/", auth_views.complete, name="complete"),
    path("logout/", auth_views.logout_view, name="logout"),
]
