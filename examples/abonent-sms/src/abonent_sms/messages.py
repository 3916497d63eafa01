"""What to text for an event, or nothing: the subscriber hears when the service stops,
when it is back and when money arrives, and nothing else.

The cases a notifier must expect (docs/hooks.md, the event reference): a second block on
a blocked account arrives as `block_set` with the old state already blocked; lifting one
of two blocks arrives as `block_lifted` whose new state is still blocked (admin →
voluntary). Neither changes anything for the subscriber, so neither is texted.
"""
from __future__ import annotations

from core import AccountState, Event

TEXTS = {
    "en": {"blocked": "{number}: your service is suspended ({why}).",
           "back": "{number}: your service is back. Thank you!",
           "paid": "{number}: payment of {amount} received, balance {balance}."},
    "ru": {"blocked": "{number}: услуга приостановлена ({why}).",
           "back": "{number}: услуга снова работает. Спасибо!",
           "paid": "{number}: платёж {amount} получен, баланс {balance}."},
}
WHY = {  # the state a block leads to: a block source
    "en": {AccountState.BALANCE: "not enough money", AccountState.ADMIN: "by the operator",
           AccountState.VOLUNTARY: "at your request", AccountState.DISABLED: "switched off"},
    "ru": {AccountState.BALANCE: "недостаточно средств", AccountState.ADMIN: "оператором",
           AccountState.VOLUNTARY: "по вашей просьбе", AccountState.DISABLED: "отключена"},
}


def text_for(event: Event, language: str) -> str | None:
    texts, payload = TEXTS[language], event.payload
    if event.name == "payment_received":
        payment = payload["payment"]
        return texts["paid"].format(number=payment["contract_number"], amount=payment["amount"],
                                    balance=payment["balance_after"])
    number = payload.get("account", {}).get("contract_number")
    if event.name == "block_set" and payload["old_state"] == AccountState.ACTIVE:
        return texts["blocked"].format(number=number, why=WHY[language][payload["new_state"]])
    if event.name == "block_lifted" and payload["new_state"] == AccountState.ACTIVE:
        return texts["back"].format(number=number)
    return None
