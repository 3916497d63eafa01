"""Finding NAS accounts by the address an operator reads off a device, a log or a label
(hook `abonent_search_accounts`, the admin's top box and list searches):

- an IP address: a whole one finds its account ("10.0.3.15"), a beginning of one finds
  every account in the range ("10.0.3." or "10.0");
- a MAC in any spelling ("00:1A:2B:3C:4D:5E", "00-1a-…", "001a.2b3c.4d5e", bare hex)
  finds its account, and its last hex digits ("4d5e", "4D:5E") every account whose MAC
  ends so.

Accounts keep both in their `fields` (the MAC normalised by agent.normal_mac), so each
kind has an expression index on the core's `account` table, declared here and created by
migration nas_oss_0003 on PostgreSQL: a btree on the IP (text_pattern_ops, so a prefix is
served whatever the cluster's collation) and a trigram index on the MAC's twelve hex
digits (its tail anywhere in them). SQLite reads the accounts: an embedded database is
small.
"""
from __future__ import annotations

import ipaddress
import re

from sqlalchemy import Index, Select, Text, cast, func, literal_column, select

from core import Account, Agent, trigram_index
from plugin_nas_oss.agent import CODE

#: The fields as the indexes hold them; literal keys, so every plan can use the index.
IP = Account.__table__.c.fields.op("->>")(literal_column("'ip'"))
MAC_HEX = func.replace(Account.__table__.c.fields.op("->>")(literal_column("'mac'")),
                       literal_column("':'"), literal_column("''"))
#: fewer hex digits of a MAC than this are not looked up (too many accounts share them)
MIN_MAC_DIGITS = 4

#: the indexes are the plugin's, on a core table (the drift check tells them by `package`)
_OURS = {"package": __name__.split(".")[0]}
Account.__table__.append_constraint(Index(
    "ix_account_nas_ip", IP.label("ip"), postgresql_ops={"ip": "text_pattern_ops"},
    info=_OURS).ddl_if(dialect="postgresql"))
trigram_index(Account.__table__, "ix_account_nas_mac_trgm", MAC_HEX, **_OURS)

_IP_PREFIX = re.compile(r"\d{1,3}(\.\d{1,3}){0,3}\.?")
_MAC_SEPARATORS = re.compile(r"[\s:.\-]")
_HEX = re.compile(r"[0-9a-f]+")


def _ip(term: str):
    """The condition for an IP or the beginning of one, or None."""
    if "." not in term or not _IP_PREFIX.fullmatch(term):
        return None
    try:
        return IP == str(ipaddress.IPv4Address(term))
    except ValueError:
        return IP.like(term + "%")  # digits and dots: nothing to escape


def _mac(term: str):
    """The condition for a MAC or its last hex digits, or None."""
    digits = _MAC_SEPARATORS.sub("", term).lower()
    if not (MIN_MAC_DIGITS <= len(digits) <= 12 and _HEX.fullmatch(digits)):
        return None
    return cast(MAC_HEX, Text).like(digits if len(digits) == 12 else "%" + digits)


def account_ids(term: str) -> Select | None:
    """The NAS accounts the term finds by IP or MAC (a SELECT of ids), or None."""
    condition = _ip(term)
    if condition is None:
        condition = _mac(term)
    if condition is None:
        return None
    return (select(Account.id).join(Agent, Agent.id == Account.agent_id)
            .where(Agent.type == CODE, condition))
