"""Interface languages (Flask-Babel): English, Russian, Polish, chosen per manager.

The catalogs live in admin/translations as .po files with their compiled .mo files next
to them (committed, so no build step is needed); `admin/translations/README.md` says how
to refresh them. Flask-Admin's own strings come from its bundled catalogs.
"""
from __future__ import annotations

from flask import request
from flask_babel import Babel, get_locale
from flask_login import current_user

from admin.languages import LANGUAGES


def select_locale() -> str:
    """The logged-in manager's language; before logging in, the browser's preference."""
    if current_user and getattr(current_user, "is_authenticated", False):
        return current_user.language
    return request.accept_languages.best_match(LANGUAGES) or "en"


def init_babel(app) -> Babel:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    babel = Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["get_locale"] = get_locale
    return babel
