"""The optional second factor: enrolment from the profile page (confirmed by a code), the
code as a second login step, switching off, an administrator's reset, and the setting that
makes it required for administrators."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from sqlalchemy import select

from admin import staff
from core.models import AuditEntry, Manager

SECRET = re.compile(r'id="totp-secret">([A-Z2-7]+)<')


@pytest.fixture
def abonent_config(request):
    return getattr(request, "param", {})


required_for_administrators = pytest.mark.parametrize(
    "abonent_config", [{"security": {"totp_for_administrators": True}}], indirect=True)


def next_code(secret: str) -> str:
    """The code of the next 30-second step (accepted for a phone's clock drift): a code
    not yet used, the current one having confirmed the enrolment."""
    totp = pyotp.TOTP(secret)
    return totp.generate_otp(int(time.time()) // totp.interval + 1)


def stored(runtime, login: str) -> str | None:
    """The manager's secret (the column also holds the step of the last code used)."""
    with runtime.session() as s:
        value = s.scalars(select(Manager.totp_secret).where(Manager.login == login)).one()
    return value and value.partition(":")[0]


def actions(runtime) -> list[str]:
    with runtime.session() as s:
        return list(s.scalars(select(AuditEntry.action).where(
            AuditEntry.action.like("second_factor%")).order_by(AuditEntry.id)))


def enrol(client) -> str:
    page = client.text("/admin/profile/")
    secret = SECRET.search(page)[1]
    assert "otpauth://totp/Abonent:" in page and f"secret={secret}" in page
    assert 'src="data:image/svg+xml' in page  # the QR code
    done = client.post("/admin/profile/second-factor", {"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 302, done.get_data(as_text=True)[:300]
    return secret


def log_in(client, login: str, password: str, next_page: str = ""):
    token = client.token("/login")
    return client.http.post("/login", data={"login": login, "password": password,
                                            "next": next_page, "csrf_token": token})


def send_code(client, value: str):
    return client.http.post("/login/code", data={"code": value,
                                                 "csrf_token": client.token("/login/code")})


def test_enrolment_needs_a_code_from_the_app(login_as, runtime):
    client = login_as("manager")
    page = client.text("/admin/profile/")
    secret = SECRET.search(page)[1]
    assert SECRET.search(client.text("/admin/profile/"))[1] == secret  # the same until used
    wrong = client.post("/admin/profile/second-factor", {"code": "000000"})
    assert wrong.status_code == 200 and "is not the code the app shows now" in wrong.get_data(
        as_text=True)
    assert stored(runtime, "manager") is None and actions(runtime) == []
    ok = client.post("/admin/profile/second-factor", {"code": pyotp.TOTP(secret).now()})
    assert ok.status_code == 302
    assert stored(runtime, "manager") == secret
    assert actions(runtime) == ["second_factor_on"]
    assert "totp-secret" not in client.text("/admin/profile/")  # shown once, never again


def test_login_asks_for_the_code_after_the_password(login_as, new_client, runtime, password):
    secret = enrol(login_as("manager"))
    client = new_client()
    step = log_in(client, "manager", password, "/admin/account/")
    assert step.status_code == 302 and step.headers["Location"].endswith("/login/code")
    assert client.get("/admin/").status_code == 302  # not logged in by the password alone
    assert "One-time code" in client.text("/login/code")
    wrong = send_code(client, "123456" if pyotp.TOTP(secret).now() != "123456" else "654321")
    assert wrong.status_code == 401 and "Wrong code." in wrong.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302
    done = send_code(client, next_code(secret))
    assert done.status_code == 302 and done.headers["Location"] == "/admin/account/"
    assert client.get("/admin/").status_code == 200
    with runtime.session() as s:  # the wrong code is a failed login in the audit log
        failed = s.scalars(select(AuditEntry).where(AuditEntry.action == "login_failed")).all()
    assert [e.object_id for e in failed] == [str(s_id(runtime, "manager"))]


def s_id(runtime, login: str) -> int:
    with runtime.session() as s:
        return s.scalars(select(Manager.id).where(Manager.login == login)).one()


def test_the_code_step_is_not_open_without_the_password(new_client, set_up):
    client = new_client()
    answer = client.http.get("/login/code")
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/login")
    assert client.http.post("/login/code", data={"code": "123456"}).status_code in (302, 400)
    assert client.get("/admin/").status_code == 302


def test_wrong_codes_are_throttled_like_passwords(login_as, new_client, runtime, password):
    secret = enrol(login_as("manager"))
    client = new_client()
    log_in(client, "manager", password)
    bad = "111111" if pyotp.TOTP(secret).now() != "111111" else "222222"
    answers = [send_code(client, bad).status_code for _ in range(5)]
    assert answers[:3] == [401, 401, 401] and 429 in answers[3:]
    held = send_code(client, next_code(secret))  # even the right one waits now
    assert held.status_code == 429 and "Retry-After" in held.headers


def test_turning_it_off_needs_a_current_code(login_as, runtime):
    client = login_as("manager")
    secret = enrol(client)
    refused = client.post("/admin/profile/second-factor", {"code": "abcdef"})
    assert "is not the code the app shows now" in refused.get_data(as_text=True)
    assert stored(runtime, "manager") == secret
    off = client.post("/admin/profile/second-factor", {"code": next_code(secret)})
    assert off.status_code == 302, off.get_data(as_text=True)
    assert stored(runtime, "manager") is None
    assert actions(runtime) == ["second_factor_on", "second_factor_off"]


def test_an_administrator_resets_a_lost_second_factor(client, login_as, new_client, runtime,
                                                      password):
    enrol(login_as("manager"))
    managers = client.text("/admin/manager/")
    assert "reset-second-factor" in managers and "data-confirm=" in managers
    url = f"/admin/manager/second-factor/{s_id(runtime, 'manager')}/reset"
    assert login_as("cashier").post(url).status_code == 403  # staff:edit only
    assert stored(runtime, "manager") is not None
    assert client.post(url).status_code == 302
    assert stored(runtime, "manager") is None
    assert actions(runtime) == ["second_factor_on", "second_factor_reset"]
    again = client.post(url)  # nothing left to reset: said so, nothing written
    assert again.status_code == 302 and actions(runtime)[-1] == "second_factor_reset"
    fresh = new_client()
    assert log_in(fresh, "manager", password).headers["Location"] == "/admin/"


@required_for_administrators
def test_required_for_administrators(client, login_as, new_client, runtime, password):
    page = client.get("/admin/account/")  # no second factor yet: only the profile opens
    assert page.status_code == 302 and page.headers["Location"].endswith("/admin/profile/")
    assert login_as("manager").get("/admin/account/").status_code == 200  # not required
    secret = enrol(client)
    assert client.get("/admin/account/").status_code == 200
    refused = client.post("/admin/profile/second-factor", {"code": next_code(secret)})
    assert "required for administrators" in refused.get_data(as_text=True)
    assert stored(runtime, staff.FIRST_ADMIN) == secret
    fresh = new_client()
    assert log_in(fresh, staff.FIRST_ADMIN, password).headers["Location"].endswith("/login/code")


def test_a_code_opens_one_login_only(login_as, new_client, runtime, password):
    """A code seen over a shoulder (or the one that confirmed the enrolment) is spent."""
    client = login_as("manager")
    page = client.text("/admin/profile/")
    secret = SECRET.search(page)[1]
    used = pyotp.TOTP(secret).now()
    assert client.post("/admin/profile/second-factor", {"code": used}).status_code == 302
    first, second = new_client(), new_client()
    log_in(first, "manager", password)
    assert send_code(first, used).status_code == 401  # the enrolment's code
    later = next_code(secret)
    assert send_code(first, later).status_code == 302  # the next step's code (clock drift)
    log_in(second, "manager", password)
    assert send_code(second, later).status_code == 401  # already used by the first login
    assert first.get("/admin/").status_code == 200 and second.get("/admin/").status_code == 302
