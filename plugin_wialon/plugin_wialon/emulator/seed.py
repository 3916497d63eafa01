"""Demo seed data: the operator's story plus a few hundred varied accounts.

Account 777 holds 6 units, as in Carbon Billing's counter example (6 units at
3 per unit is a daily charge of 18).  The others are deterministic, so a demo
run always shows the same counts, and include accounts with no units at all.
``DEMO_TOKEN`` is the token the demo emulator accepts and the demo agent holds.
"""

from __future__ import annotations

import random

from .state import EmulatorState

#: 72 characters, like every Wialon token; printed in the README, so never a real one.
DEMO_TOKEN = "demo" * 18
DEMO_USER = "billing"
DEMO_ACCOUNT_ID = 777
DEMO_ACCOUNT_UNITS = 6
DEMO_EXTRA_ACCOUNTS = range(1001, 1301)


def load_demo(state: EmulatorState) -> None:
    state.add_account(DEMO_ACCOUNT_ID, DEMO_ACCOUNT_UNITS, name="Carbon demo subscriber")
    rng = random.Random(DEMO_ACCOUNT_ID)
    for account_id in DEMO_EXTRA_ACCOUNTS:
        state.add_account(account_id, rng.choice((0, 1, 1, 2, 3, 5, 8, 12, 40)))
