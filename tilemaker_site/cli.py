"""The ``tilemaker`` console command: Django's management commands under one name."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilemaker_site.settings")
    from django.core.management import execute_from_command_line

    argv = list(sys.argv if argv is None else argv)
    argv[0] = "tilemaker"
    execute_from_command_line(argv)
