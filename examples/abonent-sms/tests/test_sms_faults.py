"""The gateway misbehaves (plugins.testing's fault proxy in front of its emulator): each
text still goes out exactly once."""
import pytest


@pytest.fixture
def proxy(fault_proxy, gateway):
    return fault_proxy(gateway.url)


@pytest.fixture
def gateway_url(proxy):
    return proxy.url


def test_a_gateway_that_is_down_is_asked_again_later(account, block, drain, gateway, proxy,
                                                     clock, deliveries, phone):
    proxy.error(status=503, times=2)
    block(account, "admin")
    drain()
    (waiting,) = [d for d in deliveries("sms") if d.event == "block_set"]
    assert (waiting.state, waiting.attempts) == ("pending", 0)  # RetryLater is not a failure
    clock.advance(seconds=61)
    drain()
    clock.advance(seconds=61)
    drain()
    assert [d.state for d in deliveries("sms")] == ["done"] * len(deliveries("sms"))
    assert [to for to, _ in gateway.texts()] == [phone]


@pytest.mark.parametrize("fault", ["lose_answer", "garble"])
def test_an_answer_lost_or_cut_does_not_text_twice(account, block, drain, gateway, proxy,
                                                   clock, fault):
    getattr(proxy, fault)(match="POST /v1/messages")  # sent; the answer lost or cut off
    block(account, "admin")
    drain()
    clock.advance(seconds=61)
    drain()                                            # the same ref: "sent before"
    assert [c.fault for c in proxy.calls] == [fault, None]
    assert len(gateway.texts()) == 1
