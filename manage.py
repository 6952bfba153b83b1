#!/usr/bin/env python3
"""Django's command-line utility for TileMaker."""

from tilemaker_site.cli import main

if __name__ == "__main__":
    main()
