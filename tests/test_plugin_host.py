"""The plugin host: discovery, misspelled hooks, disabling, configuration sections, and
`abonent plugins` listing an installed plugin with its hooks."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import abonent_example
from core import AgentType, ConfigError, PluginError
from core.config import validate_settings
from plugins.host import build_runtime, make_plugin_manager
from support import ROOT, fake_distribution

ABONENT = Path(sys.executable).parent / "abonent"


def settings(**sections):
    return validate_settings({"database_url": "sqlite://", **sections}, "test")


class Misspelled:
    def abonent_acount_created(self, event, ctx):
        pass


class WrongArguments:
    def abonent_account_created(self, event, ctx, extra):
        pass


def test_misspelled_hook_fails_by_name():
    with pytest.raises(PluginError, match="'abonent_acount_created'.*did you mean "
                                          "'abonent_account_created'"):
        make_plugin_manager(settings(), [("typo", Misspelled())], load_entrypoints=False)


def test_wrong_hook_arguments_fail_by_name():
    with pytest.raises(PluginError, match="plugin 'bad'.*extra"):
        make_plugin_manager(settings(), [("bad", WrongArguments())], load_entrypoints=False)


class RenamedArgument:
    def abonent_block_set(self, event, context):
        pass


class Helper:
    def abonent_sms_log(self, text):
        pass


def test_a_renamed_hook_argument_names_hook_plugin_expected_and_given():
    with pytest.raises(PluginError) as error:
        make_plugin_manager(settings(), [("sms", RenamedArgument())], load_entrypoints=False)
    assert str(error.value) == (
        "plugin 'sms': abonent_block_set(event, context) takes 'context', which the hook "
        "does not pass: its arguments are (event, ctx), and an implementation takes any of "
        "them by these names; did you mean 'ctx' for 'context'?")


def test_did_you_mean_only_for_a_close_hook_name():
    with pytest.raises(PluginError) as error:
        make_plugin_manager(settings(), [("sms", Helper())], load_entrypoints=False)
    message = str(error.value)
    assert "unknown hook 'abonent_sms_log'" in message
    assert "did you mean" not in message and "rename a helper" in message


def test_every_bad_key_of_a_plugin_section_is_reported():
    section = {"example": {"export_path": ["not", "text"], "exportpath": "x",
                           "concurrency": 0}}
    with pytest.raises(ConfigError) as error:
        build_runtime(settings(plugins=section), extra_plugins=[("example", abonent_example)],
                      load_entrypoints=False)
    assert dict(error.value.problems) == {
        "plugins.example.concurrency": "must be at least 1",
        "plugins.example.exportpath": "unknown field; known: export_path",
        "plugins.example.export_path": "must be text"}
    assert str(error.value).count("\n") == 2  # one line each


def test_disabled_plugin_is_not_loaded():
    pm = make_plugin_manager(settings(plugins={"disabled": ["typo"]}),
                             [("typo", Misspelled())], load_entrypoints=False)
    assert not pm.has_plugin("typo")


def test_agent_type_clash_names_both_plugins():
    class Clash:
        def abonent_agent_types(self):
            return [AgentType(code="generic", title="mine")]
    with pytest.raises(PluginError, match="'generic' is declared by both 'core' and 'clash'"):
        build_runtime(settings(), extra_plugins=[("clash", Clash())], load_entrypoints=False)


@pytest.mark.parametrize("section, message", [
    ({"example": {"export_path": ["not", "text"]}}, "plugins.example.export_path: must be text"),
    ({"example": {"exportpath": "x"}}, "plugins.example.exportpath: unknown field"),
    ({"nosuch": {"a": 1}}, "plugins.nosuch: no plugin named 'nosuch' is installed"),
])
def test_plugin_sections_are_validated(section, message):
    with pytest.raises(ConfigError) as error:
        build_runtime(settings(plugins=section), extra_plugins=[("example", abonent_example)],
                      load_entrypoints=False)
    assert message in str(error.value)


def test_plugin_config_reaches_the_plugin():
    runtime = build_runtime(settings(plugins={"example": {"export_path": "/tmp/x.jsonl"}}),
                            extra_plugins=[("example", abonent_example)], load_entrypoints=False)
    assert runtime.context("example").config == {"export_path": "/tmp/x.jsonl"}
    assert runtime.agent_types["example-tv"].plugin == "example"


def _cli(tmp_path, *args, config: str = ""):
    site = fake_distribution(tmp_path / "site", "abonent-example", {"example": "abonent_example"})
    (tmp_path / "abonent.toml").write_text(f'var_dir = "{tmp_path}"\n{config}')
    env = {**os.environ, "ABONENT_CONFIG": str(tmp_path / "abonent.toml"),
           "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "tests" / "example_plugin")])}
    return subprocess.run([str(ABONENT), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_abonent_plugins_lists_installed_plugin_with_hooks(tmp_path):
    result = _cli(tmp_path, "plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    example = rows["example"]
    assert (example["distribution"], example["version"]) == ("abonent-example", "0.1.0")
    assert example["hooks"] == sorted([
        "abonent_agent_types", "abonent_config_schema", "abonent_payment_received",
        "abonent_block_set", "abonent_block_lifted", "abonent_cli_commands"])
    assert example["agent_types"] == ["example-tv"]
    assert rows["core"]["distribution"] == "abonent"
    text = _cli(tmp_path, "plugins").stdout
    assert "example  abonent-example 0.1.0" in text and "abonent_payment_received" in text


VAULT = '''from core import Field, hookimpl

@hookimpl
def abonent_config_schema():
    return [Field("url", "url"), Field("token", secret=True)]
'''


def test_abonent_plugins_masks_the_settings_a_plugin_declares_secret(tmp_path):
    site = fake_distribution(tmp_path / "site", "abonent-vault", {"vault": "abonent_vault"})
    (site / "abonent_vault.py").write_text(VAULT)
    (tmp_path / "abonent.toml").write_text(
        f'var_dir = "{tmp_path}"\n[plugins.vault]\nurl = "https://vault.example"\n'
        'token = "very-secret"\n')
    env = {**os.environ, "ABONENT_CONFIG": str(tmp_path / "abonent.toml"), "PYTHONPATH": str(site)}
    result = subprocess.run([str(ABONENT), "plugins", "--json"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["vault"]["config"] == {"url": "https://vault.example", "token": "••••••"}
    assert "very-secret" not in result.stdout


def test_plugin_cli_command_is_added(tmp_path):
    result = _cli(tmp_path, "example-export")
    assert result.returncode == 0, result.stderr
    assert "nothing exported yet" in result.stdout
    assert "example-export" in _cli(tmp_path, "--help").stdout


def test_disabled_by_configuration(tmp_path):
    result = _cli(tmp_path, "plugins", config='[plugins]\ndisabled = ["example"]\n')
    assert "example  (disabled in the configuration)" in result.stdout
    assert "abonent-example" not in result.stdout
    # the disabled plugin is one line, not also a row of the core's distribution
    assert [line for line in result.stdout.splitlines() if line.startswith("example")] == [
        "example  (disabled in the configuration)"]


def test_abonent_plugins_lists_a_plugin_with_every_configuration_error(tmp_path):
    result = _cli(tmp_path, "plugins", config='[plugins.example]\nexport_path = [1]\n'
                                              'exportpath = "x"\n')
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    example = lines.index("example  abonent-example 0.1.0")
    assert lines[example + 3:example + 5] == [
        "  configuration error: plugins.example.exportpath: unknown field; known: export_path",
        "  configuration error: plugins.example.export_path: must be text"]
    assert "the configuration of example is wrong" in result.stderr
    rows = {row["name"]: row for row in json.loads(_cli(tmp_path, "plugins", "--json",
                                                        config='[plugins.example]\n'
                                                               'export_path = [1]\n').stdout)}
    assert rows["example"]["config_errors"] == ["plugins.example.export_path: must be text"]


def test_listing_creates_nothing_in_the_current_folder(tmp_path):
    here = tmp_path / "here"
    here.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ABONENT_")}
    for args in (["plugins"], ["--help"]):
        result = subprocess.run([str(ABONENT), *args], env=env, cwd=here, capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert list(here.iterdir()) == []


def test_bad_configuration_is_one_clear_line(tmp_path):
    result = _cli(tmp_path, "plugins", config="[outbox]\nmax_attempts = 0\n")
    assert result.returncode == 1
    assert result.stderr.strip() == ("Error: configuration outbox.max_attempts: "
                                     "must be at least 1")
    assert "Traceback" not in result.stderr


def test_broken_plugin_import_is_named(tmp_path):
    site = fake_distribution(tmp_path / "site", "abonent-broken", {"broken": "no_such_module"})
    env = {**os.environ, "PYTHONPATH": str(site), "ABONENT_VAR_DIR": str(tmp_path)}
    result = subprocess.run([str(ABONENT), "plugins"], env=env, capture_output=True, text=True)
    assert result.returncode == 1
    assert "plugin 'broken' (no_such_module) failed to import: ModuleNotFoundError" in result.stderr
