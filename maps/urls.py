from django.urls import include, path

urlpatterns = [
    path("", include("maps.api_urls")),
    path("", include("maps.image_urls")),
]
