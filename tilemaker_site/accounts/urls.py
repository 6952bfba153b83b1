"""Login, logout and ``me`` under ``/auth/``.

The namespace is social-auth's own (``social``): social-auth reverses
``social:complete`` to build the callback URL it sends to GitHub.
"""

from django.urls import path

from tilemaker_site.accounts import token_views, views

app_name = "social"

urlpatterns = [
    path("me", views.me, name="me"),
    path("tokens", token_views.TokenList.as_view(), name="tokens"),
    path("tokens/<int:token_id>", token_views.TokenDetail.as_view(), name="token"),
    path("login/<str:backend>/", views.begin, name="begin"),
    path("complete/<str:backend>/", views.complete, name="complete"),
    path("logout/", views.logout_view, name="logout"),
]
