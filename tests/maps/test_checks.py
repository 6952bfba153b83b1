"""TileMaker's own system checks and the deploy check of a production environment."""

import secrets
import subprocess
import sys

import pytest
from django.core.checks import Error, Warning
from django.test import override_settings

from maps import checks
from tests.support.settings_probe import REPO, probe_env
from tilemaker_site import checks as site_checks

PRODUCTION_ENV = {
    "TILEMAKER_DEBUG": "no",
    "TILEMAKER_SECRET_KEY": secrets.token_urlsafe(50),
    "TILEMAKER_ALLOWED_HOSTS": "maps.example.org",
    "TILEMAKER_DATABASE_URL": "postgres://tilemaker:pw@db.invalid:5432/tilemaker",
    "TILEMAKER_CACHE_TYPE": "memcached",
    # Nothing listens on port 9 (discard): the cache check must only warn.
    "TILEMAKER_MEMCACHED_HOST": "127.0.0.1",
    "TILEMAKER_MEMCACHED_PORT": "9",
    "TILEMAKER_AUTH_TYPE": "github",
    "TILEMAKER_GITHUB_KEY": "key",
    "TILEMAKER_GITHUB_SECRET": "secret",
    "TILEMAKER_ORIGINS": "https://viewer.example.org",
    "TILEMAKER_DATA_ROOTS": "/maps",
}


def run_check(extra_env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", *args],
        cwd=REPO,
        env=probe_env(extra_env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_environment_passes_deploy_check_at_warning_level():
    # The memcached warning is a runtime condition, not configuration:
    # silence exactly that one to see that the configuration itself is clean.
    result = run_check(PRODUCTION_ENV, "--deploy", "--fail-level", "WARNING", "--tag", "security")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_unreachable_memcached_is_a_warning_not_an_error():
    result = run_check(PRODUCTION_ENV, "--deploy")
    assert result.returncode == 0, result.stderr
    assert "tilemaker.W002" in result.stderr
    assert "127.0.0.1:9" in result.stderr


def test_debug_environment_fails_deploy_check_naming_our_ids():
    result = run_check({}, "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    for check_id in ("tilemaker.W013", "tilemaker.W015", "tilemaker.W016", "tilemaker.W017"):
        assert check_id in result.stderr


SAFE = {
    "ALLOWED_HOSTS": ["maps.example.org"],
    "CORS_ALLOW_ALL_ORIGINS": False,
    "CORS_ALLOWED_ORIGINS": ["https://viewer.example.org"],
    "CORS_ALLOW_CREDENTIALS": True,
    "AUTH_TYPE": "github",
    "MOCK_GRANTS": frozenset(),
    "DEBUG": False,
    "CACHE_TYPE": "memcached",
    "DATABASE_URL": "postgres://tilemaker@db:5432/tilemaker",
    "DATA_ROOTS": ["/maps"],
    "HTTPS": True,
}


def deploy_ids(**overrides) -> list[str]:
    with override_settings(**{**SAFE, **overrides}):
        return [message.id for message in site_checks.check_deploy_settings()]


def test_safe_production_settings_raise_nothing():
    assert deploy_ids() == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"ALLOWED_HOSTS": ["maps.example.org", "*"]}, ["tilemaker.W010"]),
        ({"CORS_ALLOW_ALL_ORIGINS": True}, ["tilemaker.E011"]),
        ({"CORS_ALLOWED_ORIGINS": ["*"]}, ["tilemaker.E011"]),
        ({"CORS_ALLOW_ALL_ORIGINS": True, "CORS_ALLOW_CREDENTIALS": False}, []),
        ({"AUTH_TYPE": "mock"}, ["tilemaker.W013"]),
        ({"AUTH_TYPE": "mock", "MOCK_GRANTS": frozenset({"act"})}, ["tilemaker.E012"]),
        ({"DEBUG": True}, ["tilemaker.W015"]),
        ({"CACHE_TYPE": "in_memory"}, ["tilemaker.W016"]),
        ({"DATABASE_URL": "sqlite:////srv/tilemaker.sqlite3"}, ["tilemaker.W017"]),
        ({"DATA_ROOTS": []}, ["tilemaker.W018"]),
        ({"HTTPS": False}, ["tilemaker.W019"]),
        ({"HTTPS": False, "DEBUG": True}, ["tilemaker.W015"]),
    ],
)
def test_each_unsafe_setting_is_reported(overrides, expected):
    assert deploy_ids(**overrides) == expected


def test_deploy_levels_are_errors_only_where_data_leaks():
    with override_settings(**{**SAFE, "CORS_ALLOW_ALL_ORIGINS": True, "AUTH_TYPE": "mock"}):
        messages = site_checks.check_deploy_settings()
    kinds = {message.id: type(message) for message in messages}
    assert kinds == {"tilemaker.E011": Error, "tilemaker.W013": Warning}


@pytest.fixture
def layer_files(tmp_path, make_car_map):
    good = make_car_map("good.fits", nx=64, ny=32)
    not_fits = tmp_path / "notes.fits"
    not_fits.write_bytes(b"hello, not a FITS file" * 200)
    return {"good": good, "not_fits": not_fits, "dir": tmp_path}


@pytest.mark.django_db
def test_layer_file_check_warns_per_unreadable_file(layer_files):
    from maps.models import Band, Layer, Map, MapGroup

    group = MapGroup.objects.create(map_group_id="g", name="g", description="")
    band = Band.objects.create(
        band_id="b",
        name="b",
        description="",
        map=Map.objects.create(map_id="m", map_group=group, name="m", description=""),
    )
    layers = {}
    for name in ("good", "not_fits", "missing"):
        layers[name] = Layer.objects.create(
            layer_id=name,
            band=band,
            name=name,
            provider={"provider_type": "fits", "filename": str(layer_files["good"])},
        )
    # Files that break after import (deleted, replaced) are what the check is for.
    Layer.objects.filter(layer_id="not_fits").update(
        provider={"provider_type": "fits", "filename": str(layer_files["not_fits"])}
    )
    Layer.objects.filter(layer_id="missing").update(
        provider={"provider_type": "fits", "filename": str(layer_files["dir"] / "gone.fits")}
    )
    assert checks.check_layer_files(databases=None) == []
    messages = checks.check_layer_files(databases=["default"])
    assert [(m.id, m.obj) for m in messages] == [
        ("tilemaker.W001", "layer not_fits"),
        ("tilemaker.W001", "layer missing"),
    ]
    assert "not a FITS file" in messages[0].msg
    assert "No such file" in messages[1].msg


@pytest.mark.django_db
def test_layer_file_check_respects_data_roots(layer_files, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("roots")
    with override_settings(DATA_ROOTS=[elsewhere]):
        assert "outside the allowed data folders" in checks.fits_file_problem(
            str(layer_files["good"])
        )
    assert checks.fits_file_problem(str(layer_files["good"])) is None
