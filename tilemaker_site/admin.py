"""The site's admin pages: those of accounts (users and groups with their grants).

Admin autodiscovery imports each installed app's ``admin`` module, and the
accounts package is part of this app rather than an app of its own.
"""

from tilemaker_site.accounts import admin  # noqa: F401
