"""Catalogue files of every supported format, written by astropy here, read through astropy.table.

Issue 16 section 1: formats, RA/Dec found by name or UCD or named in the
config, units and descriptions kept, sexagesimal, Galactic, a made name
column, one-line errors naming file, row and column, and nothing written
when a file is bad (import_config and the admin upload alike).
"""

import os

import numpy as np
import pytest
from astropy import units as u
from astropy.io import fits
from astropy.io.votable import from_table
from astropy.io.votable import writeto as write_votable
from astropy.table import MaskedColumn, Table
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from catalogs.models import SourceGroup
from catalogs.readers import CatalogError, SourceRecord
from catalogs.tables import ColumnChoice, file_type_for, is_catalogue_fits, read_catalogue
from maps.importers import ConfigError, import_config
from maps.scanning import config_for_files, split_files
from tests.support.configs import write_json
from tests.support.fits import write_car_map

FORMATS = [
    ("cat.csv", "ascii.csv"),
    ("cat.tsv", "ascii.tab"),
    ("cat.ecsv", "ascii.ecsv"),
    ("cat.fits", "fits"),
    ("cat.fits.gz", "fits"),
    ("cat.xml", "votable"),
    ("cat.vot", "votable"),
    ("cat.tbl", "ascii.ipac"),
]
# What each format keeps of a column's metadata.
KEEPS_UNIT = {"ascii.ecsv", "fits", "votable", "ascii.ipac"}
KEEPS_DESCRIPTION = {"ascii.ecsv", "fits", "votable"}


def survey_table() -> Table:
    table = Table(
        {
            "ID": ["ACT-CL J0001", "ACT-CL J0002", "ACT-CL J0003"],
            "RAJ2000": [10.5, 200.25, 359.0],
            "DEJ2000": [-5.0, 12.5, -60.0],
            "flux": [1.5, np.nan, 30.0],
            "snr": [5, 7, 12],
        }
    )
    table["flux"].unit = u.mJy
    table["flux"].description = "Peak flux density"
    return table


def messages(tmp_path, path, **options) -> list[str]:
    with pytest.raises(CatalogError) as caught:
        read_catalogue(path, **options)
    return [line.replace(f"{tmp_path}/", "") for line in caught.value.problems]


@pytest.mark.parametrize(("filename", "astropy_format"), FORMATS)
def test_every_format_reads_names_coordinates_extras_and_units(tmp_path, filename, astropy_format):
    survey_table().write(tmp_path / filename, format=astropy_format)

    catalogue = read_catalogue(tmp_path / filename)

    assert catalogue.records == [
        SourceRecord(10.5, -5.0, "ACT-CL J0001", {"flux": 1.5, "snr": 5}),
        SourceRecord(200.25, 12.5, "ACT-CL J0002", {"flux": None, "snr": 7}),
        SourceRecord(359.0, -60.0, "ACT-CL J0003", {"flux": 30.0, "snr": 12}),
    ]
    flux, snr = (column.to_dict() for column in catalogue.columns)
    assert flux == {
        "name": "flux",
        "unit": "mJy" if astropy_format in KEEPS_UNIT else None,
        "description": "Peak flux density" if astropy_format in KEEPS_DESCRIPTION else None,
    }
    assert snr == {"name": "snr", "unit": None, "description": None}


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("a.csv", "csv"),
        ("a.TSV", "tsv"),
        ("a.ecsv", "ecsv"),
        ("a.fits", "fits"),
        ("a.fit", "fits"),
        ("a.fits.gz", "fits"),
        ("a.xml", "votable"),
        ("a.vot", "votable"),
        ("a.votable", "votable"),
        ("a.tbl", "ipac"),
        ("a.ipac", "ipac"),
        ("a.json", "json"),
        ("a.txt", None),
        ("a.gz", None),
    ],
)
def test_file_type_by_extension(filename, expected):
    assert file_type_for(filename) == expected


@pytest.mark.parametrize(
    ("ra", "dec"),
    [
        ("_RAJ2000", "_DEJ2000"),
        ("RA_ICRS", "DE_ICRS"),
        ("ra_deg", "dec_deg"),
        ("RA", "DEC"),
        ("RAdeg", "DEdeg"),
    ],
)
def test_odd_column_names(tmp_path, ra, dec):
    Table({ra: [1.0], dec: [2.0], "RA_err": [0.1]}).write(tmp_path / "c.ecsv")

    (record,) = read_catalogue(tmp_path / "c.ecsv").records

    assert record == SourceRecord(1.0, 2.0, "1", {"RA_err": 0.1})


def test_columns_found_by_ucd_alone_in_a_votable(tmp_path):
    table = Table({"alpha": [150.0], "delta": [2.0], "obj": ["M1"], "z": [0.5]})
    votable = from_table(table)
    ucds = {"alpha": "pos.eq.ra;meta.main", "delta": "pos.eq.dec;meta.main", "obj": "meta.id"}
    for votable_field in votable.get_first_table().fields:
        votable_field.ucd = ucds.get(votable_field.name)
    write_votable(votable, str(tmp_path / "c.xml"))

    (record,) = read_catalogue(tmp_path / "c.xml").records

    assert record == SourceRecord(150.0, 2.0, "M1", {"z": 0.5})


def test_columns_named_in_the_config(tmp_path):
    Table({"x": [3.0], "y": [4.0], "label": ["a"], "ra": [99.0]}).write(tmp_path / "c.ecsv")
    choice = ColumnChoice(ra="x", dec="y", name="label")

    (record,) = read_catalogue(tmp_path / "c.ecsv", columns=choice).records

    assert record == SourceRecord(3.0, 4.0, "a", {"ra": 99.0})
    assert messages(tmp_path, tmp_path / "c.ecsv", columns=ColumnChoice(ra="RA")) == [
        "c.ecsv: ra_column 'RA' is not a column of the table"
    ]


def test_angle_units_are_converted_to_degrees(tmp_path):
    table = Table({"ra": [10.0], "dec": [np.pi / 4]})
    table["ra"].unit = u.hourangle
    table["dec"].unit = u.rad
    table.write(tmp_path / "c.ecsv")

    (record,) = read_catalogue(tmp_path / "c.ecsv").records

    assert (record.ra, record.dec) == (pytest.approx(150.0), pytest.approx(45.0))


def test_sexagesimal_strings_hours_for_ra(tmp_path):
    table = Table(
        {
            "RA": ["10:00:29.1", "10h00m29.1s", "150.5"],
            "Dec": ["+02:12:21", "-01d30m00s", "-3.25"],
        }
    )
    table.write(tmp_path / "c.tsv", format="ascii.tab")

    records = read_catalogue(tmp_path / "c.tsv").records

    assert [(r.ra, r.dec) for r in records] == [
        (pytest.approx(150.12125), pytest.approx(2.205833333)),
        (pytest.approx(150.12125), -1.5),
        (150.5, -3.25),
    ]


def test_galactic_columns_become_icrs(tmp_path):
    Table({"GLON": [0.0], "GLAT": [0.0]}).write(tmp_path / "c.fits")

    (record,) = read_catalogue(tmp_path / "c.fits").records

    # The Galactic centre.
    assert (record.ra, record.dec) == (pytest.approx(266.404988), pytest.approx(-28.936178))
    assert record.extra == {"GLON": 0.0, "GLAT": 0.0}


def test_a_name_column_is_found_or_made(tmp_path):
    Table({"source_id": [1234567890123, 7], "ra": [1.0, 2.0], "dec": [0.0, 0.0]}).write(
        tmp_path / "ids.fits"
    )
    Table({"ra": [1.0, 2.0], "dec": [0.0, 0.0]}).write(tmp_path / "none.fits")

    assert [r.name for r in read_catalogue(tmp_path / "ids.fits").records] == ["1234567890123", "7"]
    assert [r.name for r in read_catalogue(tmp_path / "none.fits").records] == ["1", "2"]


def test_non_finite_and_masked_extras_become_null(tmp_path):
    table = Table({"ra": [1.0, 2.0], "dec": [0.0, 0.0], "flux": [np.inf, -np.nan]})
    table["band"] = MaskedColumn(["f090", "f150"], mask=[False, True])
    table.write(tmp_path / "c.ecsv")

    records = read_catalogue(tmp_path / "c.ecsv").records

    assert [r.extra for r in records] == [
        {"flux": None, "band": "f090"},
        {"flux": None, "band": None},
    ]


def test_bad_rows_name_file_row_and_column(tmp_path):
    table = Table(
        {
            "RAJ2000": [10.0, -999.0, np.nan, 20.0],
            "DEJ2000": [0.0, 0.0, 0.0, 95.5],
        }
    )
    table.write(tmp_path / "cat.fits")

    assert messages(tmp_path, tmp_path / "cat.fits") == [
        "cat.fits: row 2, column RAJ2000: -999 is not an RA in -360..360 degrees",
        "cat.fits: row 3, column RAJ2000: missing (empty, masked or NaN)",
        "cat.fits: row 4, column DEJ2000: 95.5 is not a Dec in -90..90 degrees",
    ]


def test_masked_coordinates_are_refused(tmp_path):
    table = Table({"ra": [1.0, 2.0]})
    table["dec"] = MaskedColumn([0.0, 1.0], mask=[False, True])
    table.write(tmp_path / "cat.xml", format="votable")

    assert messages(tmp_path, tmp_path / "cat.xml") == [
        "cat.xml: row 2, column dec: missing (empty, masked or NaN)"
    ]


def test_bad_text_coordinates_are_not_quoted(tmp_path):
    Table({"RA": ["10:00:00", "SECRET=hunter2"], "DE": ["0", "0"]}).write(
        tmp_path / "cat.csv", format="ascii.csv"
    )

    assert messages(tmp_path, tmp_path / "cat.csv") == [
        "cat.csv: row 2, column RA: not a number or a sexagesimal angle"
    ]


@pytest.mark.parametrize(
    ("filename", "write", "expected"),
    [
        (
            "cat.ecsv",
            lambda p: Table({"x": [1.0], "y": [2.0]}).write(p),
            "cat.ecsv: no RA/Dec columns found (looked for ra, RAJ2000, _RAJ2000, RA_ICRS, "
            "ra_deg..., UCD pos.eq.ra/pos.eq.dec, or GLON/GLAT); name them with ra_column "
            "and dec_column",
        ),
        (
            "cat.fits",
            lambda p: fits.PrimaryHDU(np.zeros((2, 2))).writeto(p),
            "cat.fits: no table in the file",
        ),
        (
            "cat.fits",
            lambda p: p.write_text("SECRET=hunter2\n" * 300),
            "cat.fits: cannot be read as fits (OSError)",
        ),
        (
            "cat.tbl",
            lambda p: p.write_text("|  ra  |  dec |\n| double | double |\n  1   2  hunter2 4\n"),
            "cat.tbl: cannot be read as ipac (ValueError)",
        ),
        (
            "cat.ecsv",
            lambda p: (
                Table({"ra": [1.0], "dec": [2.0]}).write(p, format="ascii.ecsv")
                or p.write_text(p.read_text().replace("ra dec", "ra dec extra"))
            ),
            "cat.ecsv: cannot be read as ecsv (InconsistentTableError)",
        ),
        ("cat.xls", lambda p: p.write_text("x"), "cat.xls: not a catalogue (expected one of "),
    ],
)
def test_bad_files_get_one_line(tmp_path, filename, write, expected):
    write(tmp_path / filename)

    (line,) = messages(tmp_path, tmp_path / filename)

    assert line.startswith(expected) if expected.endswith("of ") else line == expected
    assert "hunter2" not in line


def test_plain_csv_keeps_its_line_numbered_messages(tmp_path):
    (tmp_path / "cat.csv").write_text("name,ra,dec\na,1,2\nb,abc,3\n")

    assert messages(tmp_path, tmp_path / "cat.csv") == ["cat.csv: line 3: ra: not a number"]


# --- import_config: columns stored, all or nothing ---------------------------------------


def catalogue_config(tmp_path, provider: dict):
    entry = {"source_group_id": "cat", "name": "Cat", "provider": provider}
    return write_json(tmp_path / "config.json", {"source_groups": [entry]})


@pytest.mark.django_db
def test_import_config_stores_sources_and_column_units(tmp_path):
    survey_table().write(tmp_path / "cat.fits")

    import_config(catalogue_config(tmp_path, {"filename": "cat.fits"}))

    group = SourceGroup.objects.get(source_group_id="cat")
    assert group.columns == [
        {"name": "flux", "unit": "mJy", "description": "Peak flux density"},
        {"name": "snr", "unit": None, "description": None},
    ]
    assert list(group.sources.values_list("name", "ra", "dec", "extra")) == [
        ("ACT-CL J0001", 10.5, -5.0, {"flux": 1.5, "snr": 5}),
        ("ACT-CL J0002", 200.25, 12.5, {"flux": None, "snr": 7}),
        ("ACT-CL J0003", 359.0, -60.0, {"flux": 30.0, "snr": 12}),
    ]


@pytest.mark.django_db
def test_import_config_column_options_and_a_bad_file_changes_nothing(tmp_path):
    Table({"x": [1.0], "y": [2.0]}).write(tmp_path / "good.ecsv")
    provider = {"file_type": "ecsv", "filename": "good.ecsv", "ra_column": "x", "dec_column": "y"}
    import_config(catalogue_config(tmp_path, provider))
    Table({"RAJ2000": [1.0, 500.0], "DEJ2000": [0.0, 0.0]}).write(tmp_path / "bad.fits")

    with pytest.raises(ConfigError) as caught:
        import_config(catalogue_config(tmp_path, {"file_type": "auto", "filename": "bad.fits"}))

    assert [line.replace(f"{tmp_path}/", "") for line in caught.value.problems] == [
        "config.json: source_groups[0] (source_group_id 'cat'): provider.filename: "
        "bad.fits: row 2, column RAJ2000: 500 is not an RA in -360..360 degrees"
    ]
    group = SourceGroup.objects.get(source_group_id="cat")
    assert list(group.sources.values_list("ra", "dec")) == [(1.0, 2.0)]


@pytest.mark.django_db
def test_import_config_refuses_a_bad_column_option(tmp_path):
    provider = {"file_type": "ecsv", "filename": "c.ecsv", "ra_column": 3}

    with pytest.raises(ConfigError) as caught:
        import_config(catalogue_config(tmp_path, provider))

    assert [line.replace(f"{tmp_path}/", "") for line in caught.value.problems] == [
        "config.json: source_groups[0] (source_group_id 'cat'): provider.ra_column: "
        "expected a column name, found the number 3"
    ]


# --- admin upload ------------------------------------------------------------------------


@pytest.fixture
def staff():
    user = get_user_model().objects.create_superuser("admin", "admin@example.org", None)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def group():
    group = SourceGroup.objects.create(source_group_id="cat", name="Cat")
    group.sources.create(name="old", ra=1.0, dec=2.0)
    return group


def upload(staff, group, filename: str, content: bytes, **fields):
    url = reverse("admin:catalogs_sourcegroup_upload", args=[group.pk])
    data = {"file": SimpleUploadedFile(filename, content), "file_type": "auto", **fields}
    return staff.post(url, data)


@pytest.mark.django_db
def test_admin_upload_replaces_the_sources(tmp_path, staff, group):
    survey_table().write(tmp_path / "survey.xml", format="votable")

    response = upload(staff, group, "survey.xml", (tmp_path / "survey.xml").read_bytes())

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:catalogs_sourcegroup_change", args=[group.pk])
    assert list(group.sources.values_list("name", flat=True)) == [
        "ACT-CL J0001",
        "ACT-CL J0002",
        "ACT-CL J0003",
    ]
    group.refresh_from_db()
    assert group.columns[0] == {"name": "flux", "unit": "mJy", "description": "Peak flux density"}
    page = staff.get(reverse("admin:catalogs_sourcegroup_change", args=[group.pk]))
    assert reverse("admin:catalogs_sourcegroup_upload", args=[group.pk]) in page.content.decode()


@pytest.mark.django_db
def test_admin_upload_with_column_options(tmp_path, staff, group):
    Table({"x": [5.0], "y": [6.0]}).write(tmp_path / "c.fits")

    response = upload(
        staff, group, "c.fits", (tmp_path / "c.fits").read_bytes(), ra_column="x", dec_column="y"
    )

    assert response.status_code == 302
    assert list(group.sources.values_list("name", "ra", "dec")) == [("1", 5.0, 6.0)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        (
            "cat.csv",
            b"RAJ2000,DEJ2000\n1,2\n1,-91\n",
            "cat.csv: row 2, column DEJ2000: -91 is not a Dec in -90..90 degrees",
        ),
        ("cat.xls", b"x", "cat.xls: unknown extension; choose a file type"),
        ("cat.fits", b"not fits" * 400, "cat.fits: cannot be read as fits (OSError)"),
    ],
)
def test_admin_upload_shows_problems_and_changes_nothing(staff, group, filename, content, expected):
    response = upload(staff, group, filename, content)

    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [expected]
    assert list(group.sources.values_list("name", flat=True)) == ["old"]


# --- open / genconfig: which files are catalogues ----------------------------------------


def test_open_picks_catalogue_files_and_fits_tables(tmp_path):
    map_path = write_car_map(tmp_path / "act_f090_map.fits", nx=20, ny=10, pixel_scale_deg=0.1)
    survey_table().write(tmp_path / "clusters.fits")
    healpix = fits.BinTableHDU(Table({"I_STOKES": np.zeros(12)}))
    healpix.header["PIXTYPE"] = "HEALPIX"
    fits.HDUList([fits.PrimaryHDU(), healpix]).writeto(tmp_path / "planck_healpix.fits")
    survey_table().write(tmp_path / "clusters.ecsv")
    survey_table().write(tmp_path / "clusters.tbl", format="ascii.ipac")
    files = [
        str(map_path),
        str(tmp_path / "clusters.fits"),
        str(tmp_path / "planck_healpix.fits"),
        str(tmp_path / "clusters.ecsv"),
        str(tmp_path / "clusters.tbl"),
    ]

    maps, catalogues = split_files(files)

    assert maps == [files[0], files[2]]
    assert catalogues == [files[1], files[3], files[4]]
    assert (is_catalogue_fits(files[0]), is_catalogue_fits(files[2])) == (False, False)
    config, problems = config_for_files([map_path], [tmp_path / "clusters.fits"])
    assert problems == []
    (entry,) = config["source_groups"]
    assert entry["provider"] == {"file_type": "fits", "filename": files[1]}
    assert entry["description"] == f"Catalogue {files[1]} (3 sources)"


def test_a_fifo_is_refused_before_it_is_opened(tmp_path):
    os.mkfifo(tmp_path / "cat.csv")

    assert messages(tmp_path, tmp_path / "cat.csv") == [
        "cat.csv: not a regular file (a device, pipe or socket)"
    ]
