"""The cabinet's day and time counts take the language's plural forms (ngettext): "1 day"
in English, and Russian's three forms ("1 дня", "2 дней", "день/дня/дней")."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def abonent_config():
    return {"cabinet": {"block_min_days": "1", "blocks_per_month": "2"},
            "money": {"promise_days": "2", "promise_max_amount": "100"}}


def test_counts_take_the_plural_forms(client):
    english = client.page()
    assert "At least 1 day; at most 2 times in 30 days." in english
    assert "for 2 days)" in english
    russian = client.http.get("/my/", headers={"Accept-Language": "ru"}).get_data(as_text=True)
    assert "Не меньше 1 дня; не чаще 2 раз за 30 дней." in russian
    assert ", на 2 дня)" in russian
