"""The site's own models live with their code: API tokens in ``accounts``."""

from tilemaker_site.accounts.models import ApiToken

__all__ = ["ApiToken"]
