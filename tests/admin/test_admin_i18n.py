"""Languages: each manager's choice, the browser's before logging in, and catalogs that
hold every string of the code with compiled files matching them."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ADMIN = Path(__file__).resolve().parents[2] / "admin"
CATALOGS = ADMIN / "translations"
LANGUAGES = ("ru", "pl")


def _code_strings() -> set[str]:
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "N_": None}
    methods = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ADMIN), methods, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _entries(catalog) -> dict[tuple[str, ...], tuple[str, ...]]:
    """{ids: translations} of a catalog, each a tuple: (one,) or a plural's (one, many)."""
    def forms(value) -> tuple[str, ...]:
        return (value,) if isinstance(value, str) else tuple(value)
    return {forms(m.id): forms(m.string) for m in catalog if m.id}


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_translates_every_string_and_mo_matches_po(language):
    folder = CATALOGS / language / "LC_MESSAGES"
    with open(folder / "messages.po", "rb") as f:
        po = _entries(read_po(f))
    missing = sorted(_code_strings() - {key[0] for key in po})
    assert not missing, f"not in {language} catalog (see admin/translations/README.md): {missing}"
    assert not [k for k, v in po.items() if not all(v)], "untranslated entries"
    with open(folder / "messages.mo", "rb") as f:
        mo = _entries(read_mo(f))
    assert mo == po, "the .mo file is not compiled from the current .po file"


def test_each_manager_sees_their_language(login_as):
    russian = login_as("manager", "olga", language="ru").text("/admin/account/")
    assert "Учётные записи" in russian and "Выйти" in russian
    assert "Список" in russian  # Flask-Admin's own words in Russian too
    polish = login_as("manager", "jan", language="pl").text("/admin/")
    assert "Klienci" in polish and "Wyloguj" in polish and "Pulpit" in polish
    english = login_as("manager", "john").text("/admin/")
    assert "Customers" in english and "Log out" in english


def test_language_is_chosen_in_the_profile(login_as):
    client = login_as("cashier")
    response = client.post("/admin/profile/language", {"language": "ru"})
    assert response.status_code == 302
    assert "Язык изменён" in client.text("/admin/profile/")


def test_browser_language_before_logging_in(new_client, set_up):
    page = new_client().get("/login", headers={"Accept-Language": "ru,en;q=0.5"})
    assert "Войти" in page.get_data(as_text=True)
    refused = new_client().http.post("/login", data={"login": "x"},
                                     headers={"Accept-Language": "pl"})
    assert "Formularz odrzucony" in refused.get_data(as_text=True)


def test_core_refusals_are_translated(login_as, factory):
    account = factory.account()
    client = login_as("manager", "olga", language="ru")
    client.post(f"/admin/card/{account.id}/payment", {"payment-amount": "-1", "payment-key": "k"})
    assert "не может быть отрицательным" in client.text(f"/admin/card/{account.id}")
