"""The billing's WialonClient against the emulator: counting, retries, failures."""

import threading
import time

import pytest

from plugin_wialon.client import (Backoff, WialonAuthError, WialonClient,
                                  WialonUnavailableError)
from plugin_wialon.emulator import DEMO_ACCOUNT_ID, WialonEmulator

DEMO_IDS = [DEMO_ACCOUNT_ID, *range(1001, 1301)]


def expected_counts(emulator, ids):
    return {account_id: emulator.state.account(account_id).units for account_id in ids}


@pytest.mark.parametrize("method", ["search", "account_data"])
def test_counts_many_accounts_in_batches(wialon_emulator, make_wialon_client, method):
    client = make_wialon_client(batch_size=50)
    counts = client.count_units(DEMO_IDS, method=method)

    assert list(counts) == DEMO_IDS
    assert {a: c.count for a, c in counts.items()} == expected_counts(wialon_emulator, DEMO_IDS)
    assert all(c.error_code is None and c.reason is None for c in counts.values())
    # One login, then ceil(301 / 50) = 7 core/batch calls; a search also asks whether
    # the accounts it found empty exist (one more batch of them).
    empty = sum(1 for c in counts.values() if c.count == 0)
    assert 0 < empty <= 50
    assert wialon_emulator.state.stats["requests"] == 1 + 7 + (method == "search")


def test_seed_account_777_has_6_units(make_wialon_client):
    counts = make_wialon_client().count_units([777])
    assert counts[777].count == 6  # 6 units x 3 per unit = a charge of 18 per day


def test_duplicate_ids_are_counted_once(make_wialon_client):
    counts = make_wialon_client().count_units([777, 1001, 777])
    assert list(counts) == [777, 1001]


@pytest.mark.parametrize("code", [1, 1011])
def test_session_expired_before_the_run_relogs_in_once(wialon_emulator, make_wialon_client, code):
    client = make_wialon_client(batch_size=50)
    client.login()
    wialon_emulator.expire_sessions(code)

    counts = client.count_units(DEMO_IDS)

    assert all(c.count is not None for c in counts.values())
    # Every batch saw the dead session, but only one of them logged in again.
    assert wialon_emulator.state.stats["logins"] == 2


def test_session_expired_mid_run_relogs_in_and_retries(wialon_emulator, make_wialon_client):
    client = make_wialon_client(batch_size=10, max_concurrency=2)
    wialon_emulator.state.set_delay(0.03)
    run = {}
    counting = threading.Thread(target=lambda: run.update(counts=client.count_units(DEMO_IDS)))
    counting.start()
    deadline = time.monotonic() + 10
    while wialon_emulator.state.stats["requests"] < 5 and time.monotonic() < deadline:
        time.sleep(0.005)  # until the login and a few batches are through
    wialon_emulator.expire_sessions()
    counting.join()

    counts = run["counts"]
    assert {a: c.count for a, c in counts.items()} == expected_counts(wialon_emulator, DEMO_IDS)
    assert wialon_emulator.state.stats["logins"] == 2


def test_session_lost_twice_in_a_batch_gives_up_on_those_accounts(wialon_emulator,
                                                                  make_wialon_client):
    wialon_emulator.state.fail_accounts({1001: 1011})  # every time, even after re-login
    counts = make_wialon_client().count_units([777, 1001])
    assert counts[777].count == 6
    assert counts[1001].count is None and counts[1001].error_code == 1011
    assert counts[1001].reason == ("Your IP has changed or session has expired (Wialon error 1011)"
                                   "; still failing after logging in again")


def test_errors_in_part_of_a_batch_leave_the_rest_counted(wialon_emulator, make_wialon_client):
    wialon_emulator.state.fail_accounts({1001: 7, 1005: 5, 1010: 14})
    counts = make_wialon_client(batch_size=100).count_units(DEMO_IDS)

    assert counts[1001].error_code == 7
    assert counts[1001].reason == "Access denied (no such item or no rights to it) (Wialon error 7)"
    assert counts[1005].reason == "Error performing request (Wialon error 5)"
    assert counts[1010].reason == "Billing error (Wialon error 14)"
    failed = {a for a, c in counts.items() if c.count is None}
    assert failed == {1001, 1005, 1010}
    assert counts[777].count == 6


def test_non_json_reply_fails_that_batch_with_a_clear_reason(wialon_emulator, make_wialon_client):
    ids = list(range(1001, 1301))
    client = make_wialon_client(batch_size=50)
    client.login()
    wialon_emulator.state.serve_non_json(1, status=502)

    counts = client.count_units(ids)

    failed = [c for c in counts.values() if c.count is None]
    assert len(failed) == 50  # exactly one batch
    assert {c.reason for c in failed} == {
        f"Wialon at {client.api_url} answered HTTP 502 BAD GATEWAY instead of the API's JSON"}
    assert all(c.error_code is None for c in failed)
    assert sum(c.count is not None for c in counts.values()) == 250


@pytest.mark.parametrize("method", ["search", "account_data"])
def test_an_account_wialon_does_not_know_is_not_an_empty_one(wialon_emulator,
                                                             make_wialon_client, method):
    """A unit search finds no units for an unknown account as for an empty one; the
    client asks again about the empty ones, and Wialon answers 7 for the unknown."""
    wialon_emulator.add_account(5000, units=0)
    counts = make_wialon_client().count_units([424242, 5000, 777], method=method)
    assert (counts[424242].count, counts[424242].error_code) == (None, 7)
    assert counts[424242].reason == ("Access denied (no such item or no rights to it) "
                                     "(Wialon error 7)")
    assert (counts[5000].count, counts[5000].error_code) == (0, None)
    assert counts[777].count == 6


def test_a_count_asks_for_no_unit_data(wialon_emulator, make_wialon_client):
    """Counting reads totalItemsCount only: the units ride along without their names and
    rights (data flags 0), a fifth of the bytes of the base flag."""
    wialon_emulator.add_account(5000, units=100)
    client = make_wialon_client()
    client.login()
    before = wialon_emulator.state.stats["bytes_sent"]
    assert client.count_units([5000])[5000].count == 100
    sent = wialon_emulator.state.stats["bytes_sent"] - before
    # 100 units: {"id":N} is 13 bytes each; with flags 1 each is about 80 (8,000 bytes).
    assert sent < 2_000


def test_error_1003_at_login_is_retried_like_everywhere_else(wialon_emulator,
                                                             make_wialon_client):
    wialon_emulator.state.fail_logins(1003, times=2)
    counts = make_wialon_client().count_units([777])
    assert counts[777].count == 6
    assert wialon_emulator.state.stats["logins"] == 1


def test_login_retries_on_1003_are_bounded(wialon_emulator, make_wialon_client):
    wialon_emulator.state.fail_logins(1003)
    client = make_wialon_client(backoff=Backoff(base=0.001, cap=0.01, attempts=3))
    with pytest.raises(WialonAuthError) as refused:
        client.count_units([777])
    assert refused.value.code == 1003
    assert str(refused.value) == (
        "Wialon login refused: Only one request is allowed at the moment (limit exceeded): "
        "LIMIT api_concurrent (Wialon error 1003); still refused after 3 retries")


def test_invalid_token_raises_auth_error(make_wialon_client):
    client = make_wialon_client(token="x" * 72)
    with pytest.raises(WialonAuthError) as refused:
        client.count_units([777])
    assert refused.value.code == 8
    assert str(refused.value) == (
        "Wialon login refused: Invalid user name or password (bad token) (Wialon error 8)")


def test_token_revoked_mid_run_stops_the_run(wialon_emulator, make_wialon_client, wialon_token):
    client = make_wialon_client()
    client.login()
    wialon_emulator.state.invalidate_token(wialon_token)
    wialon_emulator.expire_sessions()
    with pytest.raises(WialonAuthError):
        client.count_units(DEMO_IDS)


def test_too_many_concurrent_requests_backs_off_and_succeeds(wialon_token):
    with WialonEmulator({wialon_token: "billing"}, max_concurrent_requests=2) as emulator:
        for account_id in range(1, 301):
            emulator.add_account(account_id, units=account_id % 5)
        emulator.state.set_delay(0.02)
        client = WialonClient(emulator.url, wialon_token, max_concurrency=8, batch_size=10,
                              backoff=Backoff(base=0.01, cap=0.1, attempts=30))
        with client:
            counts = client.count_units(range(1, 301))
        assert emulator.state.stats["busy_rejections"] > 0
    assert {a: c.count for a, c in counts.items()} == {a: a % 5 for a in range(1, 301)}


def test_error_10_inside_a_batch_is_retried(wialon_emulator, make_wialon_client):
    wialon_emulator.state.fail_accounts({1001: 10, 1002: 1003}, times=2)
    counts = make_wialon_client().count_units([777, 1001, 1002])
    assert all(c.count is not None for c in counts.values())


def test_busy_retries_are_bounded(wialon_emulator, make_wialon_client):
    wialon_emulator.state.fail_accounts({1001: 1003})
    client = make_wialon_client(backoff=Backoff(base=0.001, cap=0.01, attempts=3))
    counts = client.count_units([777, 1001])
    assert counts[777].count == 6
    assert counts[1001].error_code == 1003
    assert counts[1001].reason.endswith("; still failing after 3 retries")


def test_wialon_unreachable_at_login_stops_the_run_with_the_cause_in_words(
        wialon_emulator, make_wialon_client):
    client = make_wialon_client(timeout=2)
    wialon_emulator.stop()
    with pytest.raises(WialonUnavailableError) as down:
        client.count_units([777, 1001])
    assert str(down.value) == (f"cannot reach Wialon at {client.api_url}: connection refused "
                               f"(nothing listens there, or it is down)")


def test_wialon_lost_mid_run_is_a_per_account_reason(wialon_emulator, make_wialon_client):
    client = make_wialon_client(timeout=2)
    client.login()
    wialon_emulator.stop()
    counts = client.count_units([777, 1001])
    assert all(c.count is None and c.error_code is None for c in counts.values())
    assert {c.reason for c in counts.values()} == {
        f"cannot reach Wialon at {client.api_url}: connection refused (nothing listens "
        f"there, or it is down)"}


def test_faults_on_the_way_are_said_in_words(wialon_emulator, wialon_token, fault_proxy):
    """A 503 page, a hang past the timeout, a connection dropped, a body cut short: each
    is one plain sentence, never urllib3's text of its connection pool."""
    proxy = fault_proxy(wialon_emulator.url)
    client = WialonClient(proxy.url, wialon_token, timeout=0.5,
                          backoff=Backoff(base=0.001, cap=0.01, attempts=1))
    with client:
        api = client.api_url
        for arm, reason in (
                (lambda: proxy.error(status=503, body=b"<html>down</html>"),
                 f"Wialon at {api} answered HTTP 503 Service Unavailable instead of the "
                 f"API's JSON"),
                (lambda: proxy.hang(), f"Wialon at {api} did not answer within 0.5 s"),
                (lambda: proxy.lose_answer(status=None),
                 f"Wialon at {api} closed the connection without answering"),
                (lambda: proxy.garble(), "garbled reply from Wialon (HTTP 200: the JSON is "
                                         "cut short or broken)")):
            arm()
            with pytest.raises(WialonUnavailableError) as failed:
                client.login()
            assert str(failed.value) == reason
        assert client.count_units([777])[777].count == 6


def test_options_are_validated():
    with pytest.raises(ValueError, match="per-session limit"):
        WialonClient("http://127.0.0.1:1", "t" * 72, max_concurrency=11)
    with pytest.raises(ValueError, match="method must be one of"):
        WialonClient("http://127.0.0.1:1", "t" * 72).count_units([1], method="guess")


def test_counting_50000_accounts(wialon_token, capsys):
    ids = range(1, 50_001)
    with WialonEmulator({wialon_token: "billing"}) as emulator:
        for account_id in ids:
            emulator.add_account(account_id, units=account_id % 7)
        with WialonClient(emulator.url, wialon_token) as client:
            started = time.perf_counter()
            counts = client.count_units(ids)
            elapsed = time.perf_counter() - started
    assert len(counts) == 50_000
    assert all(counts[a].count == a % 7 for a in ids)
    with capsys.disabled():
        print(f"\nWialon: counted 50,000 accounts in {elapsed:.1f}s "
              f"({50_000 / elapsed:,.0f} accounts/s, batches of 200, 10 at once)")
