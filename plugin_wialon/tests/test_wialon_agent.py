"""The "Wialon" agent type: its settings, the ext_id of its accounts, and the plugin as
Abonent loads it (entry point, hooks, configuration section)."""
from datetime import time

import pytest

from core import ValidationError
from core.config import validate_settings
from core.models import Account
from plugin_wialon.agent import AGENT_TYPE, AgentSettings
from plugins.host import build_runtime, make_plugin_manager

TOKEN = "t" * 72


def test_settings_defaults_follow_carbon_billing():
    cleaned = AGENT_TYPE.clean_settings({"token": TOKEN})
    assert cleaned == {"api_url": "https://hst-api.wialon.com", "token": TOKEN,
                       "cdr_source": "Wialon_1", "run_time": "03:30", "count_method": "search"}


@pytest.mark.parametrize("settings, field, reason", [
    ({}, "settings.token", "is required"),
    ({"token": "short"}, "settings.token",
     "a Wialon token is 72 characters without spaces; this one has 5"),
    ({"token": TOKEN, "api_url": "hst-api.wialon.com"}, "settings.api_url",
     "must be an http(s) URL, not 'hst-api.wialon.com'"),
    ({"token": TOKEN, "cdr_source": "../etc"}, "settings.cdr_source",
     "letters, digits and _ . - only (at most 40)"),
    ({"token": TOKEN, "run_time": "25:00"}, "settings.run_time",
     "must be a time of day HH:MM, not '25:00'"),
    ({"token": TOKEN, "count_method": "guess"}, "settings.count_method",
     "must be one of search, account_data"),
    ({"token": TOKEN, "sensor": 1}, "settings.sensor", None),
])
def test_bad_settings_name_the_setting(settings, field, reason):
    with pytest.raises(ValidationError) as refused:
        AGENT_TYPE.clean_settings(settings)
    assert refused.value.field == field
    if reason is not None:
        assert reason in refused.value.reason


def test_saved_settings_read_back(runtime, factory):
    agent = factory.agent(type="wialon", name="W", token=TOKEN, run_time="4:05",
                          count_method="account_data")
    settings = AgentSettings.of(agent)
    assert (settings.run_time, settings.count_method, settings.cdr_source) == (
        time(4, 5), "account_data", "Wialon_1")


@pytest.mark.parametrize("ext_id, stored", [(777, "777"), ("777", "777"), (" 1001 ", "1001"),
                                            (None, None), ("", None)])
def test_ext_id_is_the_wialon_account_id(world, ext_id, stored):
    account = world.factory.account(agent=world.agent, tariff=world.tariff,
                                    fields={"ext_id": ext_id})
    with world.runtime.session() as s:
        saved = s.get(Account, account.id)
        assert (saved.ext_id, saved.fields) == (stored, {})


@pytest.mark.parametrize("ext_id, reason", [
    ("0", "must be at least 1"), (-5, "must be at least 1"),
    ("abc", "must be a whole number, not 'abc'"), ("7.5", "must be a whole number, not '7.5'"),
])
def test_ext_id_must_be_a_positive_whole_number(world, table_counts, ext_id, reason):
    before = table_counts()
    with pytest.raises(ValidationError) as refused:
        world.factory.account(agent=world.agent, tariff=world.tariff, fields={"ext_id": ext_id})
    assert (refused.value.field, refused.value.reason) == ("fields.ext_id", reason)
    counts = table_counts()
    # the factory's own subscriber, contract and tariff are made before the account is refused
    assert counts["account"] == before["account"] and counts["event"] == before["event"]


def test_the_plugin_is_found_through_its_entry_point():
    settings = validate_settings({"database_url": "sqlite://"}, "test")
    pm = make_plugin_manager(settings)
    assert pm.has_plugin("wialon")
    assert pm.distributions["wialon"][0] == "abonent-wialon"


def test_the_configuration_section_is_validated(abonent_database):
    settings = validate_settings({"database_url": abonent_database.url,
                                  "plugins": {"wialon": {"max_concurrency": 11}}}, "test")
    with pytest.raises(Exception, match="plugins.wialon.max_concurrency: must be at most 10"):
        build_runtime(settings, load_entrypoints=True, engine=abonent_database.engine)
