"""A forgotten cabinet password: a code by e-mail (the built-in channel of the notifier
hook, through the mail log and the outbox to a local SMTP sink) that works once and sets
a new password, ending the sessions open before; wrong, expired and over-tried codes
refused; the same answer for a login that does not exist; asking throttled; a plugin's
channel (SMS) first when the operator puts it first."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from core import Contract, hookimpl
from core.models import AuditEntry, Subscriber
from core.services import cabinet
from mail_sink import Sink

NEW = "a brand new pass 9"


@pytest.fixture
def sink():
    server = Sink().start()
    yield server
    server.close()


class Texting:
    """What an SMS gateway's plugin adds: the channel "sms" (it keeps the texts it was
    given to send, with the phone)."""

    def __init__(self):
        self.texts: list[tuple[str, str]] = []

    @hookimpl
    def abonent_notify_subscriber(self, session, contract_id, channel, subject, body):
        if channel != "sms":
            return None
        phone = session.get(Contract, contract_id).subscriber.phones[0].number
        self.texts.append((phone, body))
        return phone


@pytest.fixture
def texting():
    return Texting()


@pytest.fixture
def abonent_plugins(texting):
    return [("texting", texting)]


@pytest.fixture
def channels():
    return ["email"]


@pytest.fixture
def abonent_config(sink, channels):
    return {"mail": {"host": "127.0.0.1", "port": sink.port,
                     "from_address": "Billing <billing@isp.example>", "timeout": "5"},
            "cabinet": {"reset_channels": channels}}


@pytest.fixture
def mailed(world, runtime):
    with runtime.session() as s:
        s.get(Subscriber, world.contract.subscriber_id).email = "ivan@home.example"


def post(client, url: str, data: dict):
    """Post a public form with its page's CSRF token."""
    return client.http.post(url, data={**data, "csrf_token": client.token(url)},
                            follow_redirects=True)


def ask(client, login: str):
    """Ask for a code; the page the requester is sent to."""
    answer = post(client, "/my/reset", {"login": login})
    assert answer.status_code == 200, answer.status_code
    return re.sub(r'name="csrf_token"[^>]*', "", answer.get_data(as_text=True)).replace(
        login, "LOGIN")


def code_of(message) -> str:
    text = message if isinstance(message, str) else message.get_body().get_content()
    return re.search(r"\b(\d{6})\b", text)[1]


def set_new(client, code: str, login: str = "ivan", password: str = NEW):
    return post(client, "/my/reset/code", {"login": login, "code": code, "password": password,
                                          "repeat": password})


def audited(runtime) -> list[tuple[str, str]]:
    with runtime.session() as s:
        return [tuple(row) for row in s.execute(select(AuditEntry.action, AuditEntry.actor).where(
            AuditEntry.action.like("%cabinet_%"), AuditEntry.action != "cabinet_login")
            .order_by(AuditEntry.id))]


def test_a_mailed_code_sets_a_new_password_once_and_ends_the_sessions(
        client, new_client, mailed, sink, drain, runtime):
    stranger = new_client()
    assert 'id="forgot"' in stranger.page("/my/login")
    page = ask(stranger, "ivan")
    assert "If LOGIN is a login or phone of ours, a code is on its way" in page
    drain()
    [message] = sink.received
    assert message["To"] == "ivan@home.example" and "ivan" in message.get_body().get_content()
    code = code_of(message)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    refused = set_new(stranger, wrong)
    assert "The code is wrong or no longer works" in refused.get_data(as_text=True)
    short = set_new(stranger, code, password="short")
    assert "at least 8 characters" in short.get_data(as_text=True)  # the code not spent
    assert set_new(stranger, code).request.path == "/my/login"
    assert client.http.get("/my/").status_code == 302  # the session open before ended
    assert new_client().login("ivan").status_code == 401
    assert new_client().login("ivan", NEW).status_code == 302
    again = set_new(new_client(), code, password="another pass 10")
    assert "The code is wrong or no longer works" in again.get_data(as_text=True)
    assert audited(runtime) == [
        ("set_cabinet_password", "test"), ("cabinet_reset_sent", "address:127.0.0.1"),
        ("cabinet_reset_refused", "subscriber:ivan"),
        ("cabinet_password_reset", "subscriber:ivan"),
        ("set_cabinet_password", "subscriber:ivan")]


@pytest.mark.sqlite_only
def test_unknown_logins_look_alike_and_bad_codes_are_refused(
        new_client, world, mailed, sink, drain, clock):
    clock.set(clock.now)
    stranger = new_client()
    first = ask(stranger, "nobody")
    clock.advance(seconds=60)  # each request from one address waits longer: 1 s, 2 s…
    assert first == ask(new_client(), "ivan")  # the same answer
    drain()
    assert len(sink.received) == 1  # only ivan's
    clock.advance(minutes=10, seconds=1)
    assert "no longer works" in set_new(stranger, code_of(sink.received[0])).get_data(
        as_text=True)  # expired
    clock.advance(seconds=60)
    ask(stranger, "8 916 555-00-11")  # by phone: a new code
    drain()
    code = code_of(sink.received[1])
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(5):
        set_new(stranger, wrong)
    assert "no longer works" in set_new(stranger, code).get_data(as_text=True)  # 5 tries
    clock.advance(seconds=60)
    ask(stranger, "ivan")
    held = post(stranger, "/my/reset", {"login": "IVAN"})
    assert held.status_code == 429 and "Try again in" in held.get_data(as_text=True)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("channels", [["sms", "email"]])
def test_a_plugin_channel_put_first_carries_the_code(new_client, world, mailed, sink, drain,
                                                     texting, runtime):
    stranger = new_client()
    ask(stranger, "ivan")
    drain()
    [(phone, text)] = texting.texts
    assert phone == "79165550011" and sink.received == []  # not mailed as well
    assert set_new(stranger, code_of(text)).request.path == "/my/login"
    assert new_client().login("ivan", NEW).status_code == 302
    with runtime.session() as s:
        assert s.scalars(select(AuditEntry.changes).where(
            AuditEntry.action == "cabinet_reset_sent")).one() == {"channel": "sms",
                                                                  "to": "79165550011"}


@pytest.mark.sqlite_only
def test_a_phone_shared_by_two_subscribers_gives_each_a_code_of_their_own(
        new_client, world, mailed, sink, drain, factory, runtime):
    neighbour = factory.contract(subscriber=factory.subscriber(
        phones=["+7 916 555-00-11"], email="petr@home.example"))
    petr = factory.account(contract=neighbour, login="petr")
    with runtime.session() as s:
        cabinet.set_password(s, petr.id, "petr's pass 11")
    ask(new_client(), "+7 916 555-00-11")
    drain()
    codes = {message["To"]: code_of(message) for message in sink.received}
    assert set(codes) == {"ivan@home.example", "petr@home.example"}
    ivans = new_client()  # ivan's code does not open petr's account
    refused = set_new(ivans, codes["ivan@home.example"], login="petr")
    assert "no longer works" in refused.get_data(as_text=True)
    assert set_new(ivans, codes["petr@home.example"], login="petr").request.path == "/my/login"
