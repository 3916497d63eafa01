"""The plugin loaded into a billing (SQLite and PostgreSQL, from plugins.testing, which
installing `abonent` brings) and the SMS gateway's emulator on a real socket."""
import pytest

import abonent_sms
from abonent_sms.emulator import SmsGateway

@pytest.fixture(scope="session")
def gateway_server():
    with SmsGateway() as gateway:
        yield gateway


@pytest.fixture
def gateway(gateway_server):
    gateway_server.reset()
    return gateway_server


@pytest.fixture
def gateway_url(gateway):
    """Where the plugin sends its texts (a test may put a fault proxy in between)."""
    return gateway.url


@pytest.fixture
def abonent_plugins():
    return [("sms", abonent_sms)]


@pytest.fixture
def abonent_config(gateway_url):
    return {"plugins": {"sms": {"gateway_url": gateway_url, "sender": "MyISP"}}}


@pytest.fixture
def phone():
    """The subscriber's mobile, as the core keeps it (digits only)."""
    return "79001234567"


@pytest.fixture
def contract(factory):
    """The contract of a subscriber with that mobile phone."""
    return factory.contract(factory.subscriber(phones=["+7 900 123-45-67"]))


@pytest.fixture
def account(factory, contract):
    return factory.account(contract=contract)
