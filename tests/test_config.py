"""Configuration: TOML file, environment overrides, and errors that name the key."""
from __future__ import annotations

import pytest

from core import ConfigError
from core.config import load_settings


def test_defaults_use_sqlite_under_var(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings(env={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'var' / 'abonent.db'}"
    assert settings.section("outbox")["max_attempts"] == 8


def test_file_and_environment(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('timezone = "Europe/Moscow"\n[outbox]\nmax_attempts = 4\n'
                    '[plugins.tv24]\ntoken = "from-file"\n')
    settings = load_settings(path, env={"ABONENT_OUTBOX__MAX_ATTEMPTS": "6",
                                        "ABONENT_PLUGINS__TV24__TOKEN": "from-env",
                                        "ABONENT_TEST_POSTGRES_URL": "ignored"})
    assert settings.timezone == "Europe/Moscow"
    assert settings.section("outbox")["max_attempts"] == 6
    assert settings.plugin_sections == {"tv24": {"token": "from-env"}}


@pytest.mark.parametrize("text, env, key", [
    ("[outbox]\nmax_attempts = 'many'\n", {}, "outbox.max_attempts"),
    ("[outboks]\n", {}, "outboks"),
    ('timezone = "Mars/Olympus"\n', {}, "timezone"),
    ('database_url = "mysql://x"\n', {}, "database_url"),
    ("", {"ABONENT_SERVER__PORT": "99999"}, "server.port"),
    ("", {"ABONENT_NOPE": "1"}, "nope"),
    ("this is = = not toml", {}, "a.toml"),
])
def test_bad_values_name_the_key(tmp_path, text, env, key):
    path = tmp_path / "a.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_settings(path, env=env)
    assert error.value.key.endswith(key)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", env={})


def test_every_bad_key_is_reported_at_once(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('timezone = "Mars/Olympus"\n[outboks]\n[outbox]\nmax_attempts = 0\n'
                    'backoff_base = "soon"\n')
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={"ABONENT_SERVER__PORT": "99999"})
    assert [key for key, _ in error.value.problems] == [
        "outboks", "timezone", "server.port", "outbox.max_attempts", "outbox.backoff_base"]
    assert str(error.value).splitlines()[0] == (
        "configuration outboks: unknown section; known: server, outbox, plugins, cdr, "
        "billing, money, mail, security, cabinet, helpdesk, scheduler, payment_gateways")
