"""NAPALM changes and getters against NAPALM's own `mock` driver, which replays canned
answers from a folder (`<method>.<n>`: the n-th call's JSON, or an exception to raise).
napalm is in the distribution's `test` extra, so these never skip."""
from __future__ import annotations

import json

import pytest

from plugin_nas_oss.agent import NasSettings
from plugin_nas_oss.napalm_transport import apply_config, getter

ACL = "ip access-list extended STATIC\n permit ip host 10.0.0.5 any\n"


@pytest.fixture
def nas() -> NasSettings:
    return NasSettings.of(7, {"address": "127.0.0.1", "coa_secret": "c", "radius_secret": "r",
                              "profile": "cisco_isg", "napalm_driver": "mock",
                              "napalm_username": "billing", "napalm_password": "pw"})


@pytest.fixture
def canned(tmp_path):
    """canned(method, answer, n=1): the mock driver's answer to the n-th call."""
    def put(method: str, answer, n: int = 1) -> None:
        (tmp_path / f"{method}.{n}").write_text(json.dumps(answer))
    put.path = str(tmp_path)
    return put


def test_a_change_with_a_diff_is_committed(nas, canned):
    canned("load_merge_candidate", {})
    canned("compare_config", {"diff": "+ permit ip host 10.0.0.5 any"})
    canned("commit_config", {})
    change = apply_config(nas, ACL, {"path": canned.path})
    assert (change.outcome, change.done, change.error) == ("committed", True, None)
    assert change.diff == "+ permit ip host 10.0.0.5 any"
    assert change.steps == ["open", "load_merge_candidate", "compare_config", "commit_config"]


def test_a_change_already_there_is_discarded_not_committed(nas, canned):
    canned("load_merge_candidate", {})
    canned("compare_config", {"diff": ""})
    canned("discard_config", {})
    change = apply_config(nas, ACL, {"path": canned.path})   # no commit_config.1: a commit
    assert (change.outcome, change.done) == ("unchanged", True)  # would fail the test
    assert change.steps[-1] == "discard_config"


def test_a_failed_commit_is_rolled_back_and_refused(nas, canned):
    canned("load_merge_candidate", {})
    canned("compare_config", {"diff": "+ permit ip host 10.0.0.5 any"})
    canned("commit_config", {"exception": "napalm.base.exceptions.CommitError",
                             "args": ["% Invalid input detected at '^' marker."]})
    change = apply_config(nas, ACL, {"path": canned.path})
    assert (change.outcome, change.done) == ("refused", False)
    assert change.error == "CommitError: % Invalid input detected at '^' marker."
    assert change.steps == ["open", "load_merge_candidate", "compare_config", "rollback"]


def test_a_merge_the_device_refuses_discards_the_candidate(nas, canned):
    canned("load_merge_candidate", {"exception": "napalm.base.exceptions.MergeConfigException",
                                    "args": ["syntax error, line 2"]})
    canned("discard_config", {})
    change = apply_config(nas, ACL, {"path": canned.path})
    assert change.outcome == "refused" and "syntax error, line 2" in change.error
    assert change.steps == ["open", "discard_config"]


def test_a_device_that_cannot_be_opened_is_unreachable(nas, canned):
    change = apply_config(nas, ACL, {"path": canned.path, "fail_on_open": True})
    assert (change.outcome, change.steps) == ("unreachable", [])
    with pytest.raises(ConnectionError):
        getter(nas, "get_arp_table", {"path": canned.path, "fail_on_open": True})


def test_a_getter_returns_the_device_answer(nas, canned):
    arp = [{"interface": "vlan100", "mac": "00:1A:2B:3C:4D:5E", "ip": "10.0.0.5", "age": 12.0}]
    canned("get_arp_table", arp)
    assert getter(nas, "get_arp_table", {"path": canned.path}) == arp
    with pytest.raises(ValueError, match="not a NAPALM getter"):
        getter(nas, "commit_config", {"path": canned.path})


def test_a_nas_without_a_driver_is_refused_by_name():
    plain = NasSettings.of(8, {"address": "127.0.0.1", "coa_secret": "c", "radius_secret": "r"})
    with pytest.raises(ValueError, match="NAS agent 8 has no NAPALM driver"):
        apply_config(plain, ACL)
