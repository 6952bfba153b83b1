from django.urls import path

from sky_regions import region_views, views

urlpatterns = [
    path("highlights/boxes", views.BoxList.as_view(), name="highlight-boxes"),
    path("regions", region_views.RegionList.as_view(), name="regions"),
    path("regions/import", region_views.RegionImport.as_view(), name="regions-import"),
    path("regions/export", region_views.RegionExport.as_view(), name="regions-export"),
    path("regions/stats", region_views.RegionStats.as_view(), name="regions-stats"),
    path("regions/cutout", region_views.RegionCutout.as_view(), name="regions-cutout"),
    path("regions/<int:pk>", region_views.RegionDetail.as_view(), name="region"),
]
