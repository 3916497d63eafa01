"""Words the pages show that come from the data, not from the code: states, kinds, reasons,
and the reasons the core refuses input with most often. Listed here (marked with `N_`)
so they are extracted into the catalogs; the pages translate them with gettext when they
show them (`_(subscription.state)`), and a test checks each has its translations."""
from __future__ import annotations


def N_(word: str) -> str:
    """Marks a word for extraction; translation happens where it is shown."""
    return word


WORDS = (
    # subscriptions, blocks, services, charges
    N_("active"), N_("inactive"), N_("ended"), N_("removed"), N_("expired"),
    N_("tariff_change"), N_("balance"), N_("admin"), N_("voluntary"), N_("disabled"),
    N_("periodic"), N_("one_time"), N_("counter"), N_("daily"), N_("monthly"),
    N_("usage"), N_("manual"), N_("refund"), N_("person"), N_("company"),
    # usage records, deliveries, job runs
    N_("pending"), N_("rated"), N_("rejected"), N_("failing"), N_("dead"), N_("done"),
    N_("all"), N_("running"), N_("ok"), N_("failed"), N_("schedule"),
    N_("partial"), N_("catch-up"),
)

REASONS = (
    N_("is required"), N_("must not be negative"), N_("must not be zero"),
    N_("a decimal number is required"), N_("at most 2 decimal places"),
    N_("a date is required"), N_("must be later than the start and than now"),
    N_("a tariff change cannot be dated in the past"), N_("must not be before start_on"),
    N_("must be at least 8 characters long"), N_("must not be the same as the login"),
    N_("the two passwords differ"), N_("is not your current password"),
    N_("must not contain spaces"), N_("must be true or false"),
    N_("is not an e-mail address"), N_("must be person or company"),
    N_("is too far in the future"),
)
