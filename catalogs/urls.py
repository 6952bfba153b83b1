from django.urls import path

from catalogs import views

urlpatterns = [
    path("sources", views.SourceGroupList.as_view(), name="sources"),
    path("source-names", views.SourceNames.as_view(), name="source-names"),
    path("resolve-name", views.ResolveName.as_view(), name="resolve-name"),
    path("sources/<str:source_group_id>", views.SourceGroupDetail.as_view(), name="source-group"),
    path(
        "sources/<str:source_group_id>/view",
        views.SourceGroupView.as_view(),
        name="source-group-view",
    ),
]
