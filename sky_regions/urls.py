from django.urls import path

from sky_regions import views

urlpatterns = [
    path("highlights/boxes", views.BoxList.as_view(), name="highlight-boxes"),
]
