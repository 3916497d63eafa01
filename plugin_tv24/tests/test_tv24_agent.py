"""The "24h TV" agent type: account rules (a phone login, or tv24_username), agent
settings, the configuration section, and the installed distribution."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from core import ValidationError
from core.services.accounts import change_account, create_account
from plugin_tv24.agent import AGENT_TYPE, AgentSettings, device_limit, identity

ABONENT = Path(sys.executable).parent / "abonent"
GOOD = {"api_url": "https://api.24h.tv", "token": "t", "callback_secret": "s",
        "allowed_sources": ["203.0.113.0/24", "127.0.0.1"]}


def create(tv, login, fields=None):
    contract = tv.factory.contract()
    with tv.runtime.session() as s:
        return create_account(s, contract.id, login=login, agent_id=tv.agent.id,
                              tariff_id=tv.tariff().id, fields=fields)


@pytest.mark.parametrize("login, fields, field, reason", [
    ("ivan", None, "login", "must be a mobile phone of 11 digits starting with 7"),
    ("+79001234567", None, "login", "must be a mobile phone"),
    ("89001234567", None, "login", "must be a mobile phone"),
    ("ivan", {"tv24_username": "+7 900 123-45-67"}, "fields.tv24_username",
     "must be a mobile phone of 11 digits starting with 7 (digits only, no + or -)"),
    ("79001234567", {"tv24_devicelimit": 101}, "fields.tv24_devicelimit", "must be at most 100"),
    ("79001234567", {"tv24_devicelimit": "two"}, "fields.tv24_devicelimit", "must be a whole number"),
])
def test_a_tv_account_needs_a_phone(tv, login, fields, field, reason):
    with pytest.raises(ValidationError) as caught:
        create(tv, login, fields)
    assert caught.value.field == field and reason in caught.value.reason


def test_a_phone_login_or_tv24_username_is_accepted(tv):
    assert create(tv, "79001234567").fields == {}
    other = create(tv, "ivan.p", {"tv24_username": "79001112233", "tv24_devicelimit": "2"})
    assert other.fields == {"tv24_username": "79001112233", "tv24_devicelimit": 2}
    with pytest.raises(ValidationError) as caught, tv.runtime.session() as s:
        change_account(s, other.id, fields={})
    assert caught.value.field == "login"


def test_identity_and_device_limit():
    assert identity("79001234567", {}) == identity("79001234567", {})
    assert identity("79001234567", {}).username == "79001234567"
    both = identity("79001234567", {"tv24_username": "79007654321"})
    assert (both.username, both.phone) == ("79007654321", "79001234567")
    only_field = identity("ivan", {"tv24_username": "79007654321"})
    assert (only_field.username, only_field.phone) == ("79007654321", "79007654321")
    assert device_limit({"tv24_devicelimit": 0}, 5) == 0
    assert device_limit({}, 5) == 5 and device_limit({}, None) is None


@pytest.mark.parametrize("change, field, reason", [
    ({"api_url": "ftp://x"}, "settings.api_url", "must be an http(s) URL"),
    ({"token": ""}, "settings.token", "is required"),
    ({"allowed_sources": ["10.0.0.300"]}, "settings.allowed_sources", "is not an IP address"),
    ({"default_tar_id": "x"}, "settings.default_tar_id", "must be a whole number"),
    ({"callback_url": "x"}, "settings.callback_url", "unknown field"),
])
def test_agent_settings_are_checked(change, field, reason):
    with pytest.raises(ValidationError) as caught:
        AGENT_TYPE.clean_settings({**GOOD, **change})
    assert caught.value.field == field and reason in caught.value.reason


def test_the_allow_list_takes_addresses_and_networks():
    settings = AgentSettings.of(7, {**GOOD, "allowed_sources": "203.0.113.0/24, ::1"})
    assert settings.default_agent_id == 7 and settings.default_tar_id is None
    assert settings.allows("203.0.113.77") and settings.allows("::1")
    assert not settings.allows("198.51.100.1") and not settings.allows("") and not settings.allows("x")


def test_the_configuration_section_is_validated(abonent_settings):
    from core import ConfigError
    from plugins.host import build_runtime
    import plugin_tv24.plugin
    bad = abonent_settings.__class__(abonent_settings.values,
                                     {"tv24": {"read_timeout": "soon"}}, "test")
    with pytest.raises(ConfigError) as caught:
        build_runtime(bad, extra_plugins=[("tv24", plugin_tv24.plugin)], load_entrypoints=False)
    assert caught.value.key == "plugins.tv24.read_timeout"


def test_the_installed_distribution_is_listed_by_abonent_plugins(tmp_path):
    """`pip install ./plugin_tv24` registered the entry point: the real command sees it."""
    config = tmp_path / "abonent.toml"
    config.write_text(f'var_dir = "{tmp_path}"\n')
    result = subprocess.run([str(ABONENT), "--config", str(config), "plugins"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("tv24  abonent-tv24 0.1.0")
    hooks, agent_types = lines[start + 1], lines[start + 2]
    assert {"abonent_blueprints", "abonent_reconcile", "abonent_block_set"} <= set(
        hooks.split(": ", 1)[1].split(", "))
    assert agent_types.strip() == "agent types: tv24"
