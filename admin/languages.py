"""The interface languages a manager can choose. Apart from admin.i18n (which needs Flask)
so that the command line can check a manager's language without importing the web stack."""
from __future__ import annotations

LANGUAGES = ("en", "ru", "pl")
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "pl": "Polski"}
