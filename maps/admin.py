"""Admin registrations for the maps app.

The grant, user and group pages live in ``maps.admin_grants``; importing it
here lets admin autodiscovery register them.
"""

from maps import admin_grants  # noqa: F401
