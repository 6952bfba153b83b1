from django.urls import path

from catalogs import views

urlpatterns = [
    path("sources", views.SourceGroupList.as_view(), name="sources"),
    path("sources/<str:source_group_id>", views.SourceGroupDetail.as_view(), name="source-group"),
    path(
        "sources/<str:source_group_id>/view",
        views.SourceGroupView.as_view(),
        name="source-group-view",
    ),
]
