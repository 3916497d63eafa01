"""docs/hooks.md documents every hook with the exact signature of core/hookspecs.py."""
from __future__ import annotations

import inspect
import re

from core import hookspecs
from support import ROOT

HEADING = re.compile(r"^### `(abonent_\w+)\((.*)\)`$", re.MULTILINE)


def test_every_hook_is_documented_with_its_signature():
    documented = {name: args for name, args in HEADING.findall(
        (ROOT / "docs" / "hooks.md").read_text())}
    specs = {name: ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
             for name in dir(hookspecs) if name.startswith("abonent_")}
    assert set(documented) == set(specs), "documented hooks differ from hookspecs.py"
    for name, args in specs.items():
        assert documented[name] == args, f"{name}: docs say ({documented[name]}), spec ({args})"


def test_every_spec_says_when_what_and_errors():
    for name in dir(hookspecs):
        if name.startswith("abonent_"):
            doc = inspect.getdoc(getattr(hookspecs, name))
            assert doc and len(doc) > 60, f"{name} needs a docstring saying when, what, errors"
