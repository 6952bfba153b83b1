from django.urls import path

from regions import views

urlpatterns = [
    path("highlights/boxes", views.BoxList.as_view(), name="highlight-boxes"),
]
