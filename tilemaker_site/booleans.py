"""The words that mean yes and no, wherever the project reads a boolean from text.

Settings (``TILEMAKER_*``), API query parameters (``flip=``, ``log_norm=``)
and the viewer's URL state (``frontend/static/frontend/js/main.js``, whose
lists a test keeps equal to these) accept the same words, in any case.
"""

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "off"})


def boolean_word(text: str) -> bool | None:
    """True or False for a yes or no word (any case), None for anything else."""
    lowered = text.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    return None
