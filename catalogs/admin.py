"""Admin for source catalogues.

A catalogue can hold 100k sources, far too many for an inline: the group
page links to the Source list filtered to it, and a Source picks its group
by raw id rather than through a 100k-option select. A group's sources can be
replaced by uploading a catalogue file, validated exactly as ``import_config``
validates a ``provider`` file: any problem changes nothing.
"""

import os
import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from catalogs.models import Source, SourceGroup
from catalogs.readers import CatalogError
from catalogs.tables import FILE_TYPES, Catalogue, ColumnChoice, file_type_for, read_catalogue
from maps.admin import RestrictedFilter
from maps.importers import _replace_sources


class CatalogueUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV, TSV, ECSV, FITS table, VOTable, IPAC or JSON.")
    file_type = forms.ChoiceField(
        choices=[("auto", "auto (by the file name's extension)")] + [(t, t) for t in FILE_TYPES],
        initial="auto",
    )
    ra_column = forms.CharField(
        required=False, help_text="Leave empty to find it (ra, RAJ2000...)."
    )
    dec_column = forms.CharField(required=False)
    name_column = forms.CharField(
        required=False, help_text="Leave empty to find it or number rows."
    )

    def clean(self):
        """Read the whole file; its problems become form errors, its sources ``catalogue``."""
        data = super().clean()
        upload = data.get("file")
        if upload is None or self.errors:
            return data
        label = Path(upload.name).name
        file_type = data["file_type"]
        if file_type == "auto":
            file_type = file_type_for(label)
            if file_type is None:
                raise forms.ValidationError(
                    f"{label}: unknown extension; choose a file type", code="file_type"
                )
        suffix = "".join(Path(label).suffixes[-2:])
        handle, temporary = tempfile.mkstemp(suffix=suffix)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in upload.chunks():
                    out.write(chunk)
            choice = ColumnChoice(
                *(data.get(key) or None for key in ("ra_column", "dec_column", "name_column"))
            )
            self.catalogue = read_catalogue(
                temporary, file_type=file_type, columns=choice, label=label
            )
        except CatalogError as error:
            raise forms.ValidationError(error.problems) from None
        finally:
            os.unlink(temporary)
        limit = Source._meta.get_field("name").max_length
        for row, record in enumerate(self.catalogue.records, start=1):
            if len(record.name) > limit:
                raise forms.ValidationError(
                    f"{label}: row {row}: the name is longer than {limit} characters"
                )
        return data


@admin.register(SourceGroup)
class SourceGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "source_group_id", "grant", "position", "source_count")
    list_filter = (RestrictedFilter, ("grant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "source_group_id", "description")
    autocomplete_fields = ("grant",)
    readonly_fields = ("sources_link", "upload_link", "columns")
    fields = (
        "source_group_id",
        "name",
        "description",
        "grant",
        "position",
        "sources_link",
        "upload_link",
        "columns",
    )

    def get_urls(self):
        upload = path(
            "<int:pk>/upload/",
            self.admin_site.admin_view(self.upload_view),
            name="catalogs_sourcegroup_upload",
        )
        return [upload, *super().get_urls()]

    def upload_view(self, request, pk):
        group = get_object_or_404(SourceGroup, pk=pk)
        if not self.has_change_permission(request, group):
            return redirect("admin:index")
        form = CatalogueUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            count = _replace_catalogue(group, form.catalogue)
            self.message_user(
                request, f"{group}: {count} sources from {form.cleaned_data['file'].name}"
            )
            return redirect("admin:catalogs_sourcegroup_change", group.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Upload a catalogue into {group}",
            "group": group,
            "form": form,
            "count": group.sources.count(),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/catalogs/sourcegroup/upload.html", context)

    @admin.display(description="upload")
    def upload_link(self, group):
        if group.pk is None:
            return "—"
        url = reverse("admin:catalogs_sourcegroup_upload", args=[group.pk])
        return format_html('<a href="{}">Upload a catalogue file (replaces the sources)</a>', url)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("grant")
            .annotate(_sources=Count("sources"))
        )

    @admin.display(description="sources", ordering="_sources")
    def source_count(self, group):
        return group._sources

    @admin.display(description="sources")
    def sources_link(self, group):
        if group.pk is None:
            return "—"
        url = reverse("admin:catalogs_source_changelist")
        count = group.sources.count()
        return format_html(
            '<a href="{}?source_group__id__exact={}">{} source{}</a>',
            url,
            group.pk,
            count,
            "" if count == 1 else "s",
        )


def _replace_catalogue(group: SourceGroup, catalogue: Catalogue) -> int:
    with transaction.atomic():
        count = _replace_sources(group, catalogue.records)
        group.columns = [column.to_dict() for column in catalogue.columns]
        group.save(update_fields=["columns"])
    return count


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "ra", "dec", "source_group")
    list_filter = (RestrictedFilter, ("source_group", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name",)
    raw_id_fields = ("source_group",)
    # Set by the import from the brightness column; not an editable quantity.
    readonly_fields = ("rank",)
    list_select_related = ("source_group",)
    # Counting 100k rows on every page view of a filtered list is wasted work.
    show_full_result_count = False
