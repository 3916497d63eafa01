"""The platform's provider OpenAPI document, loadable by strict validators.

The document ships inside the package (``data/tv24-provider.swagger.yaml``, byte for byte
as the platform publishes it, MIT licence next to it) so that the installed plugin can
check its emulator and client against what the platform itself wrote. The published file
is not valid OpenAPI 3.0.3, and validators such as openapi-core refuse it:

* the path parameter ``id`` of ``/v2/users/{id}`` (GET, PATCH, DELETE) and of
  ``/v2/users/{id}/archive`` carries ``style: form`` (with ``explode: false``), a style
  that only query and cookie parameters may have;
* the security scheme ``userAccessTokenHeader`` says ``in: headers`` instead of ``header``.

:func:`load_spec` repairs exactly these defects in a copy held in memory; the file is
never changed. PyYAML is needed to read the document (the ``test`` extra brings it).
"""

from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources
from typing import Any

SPEC_RESOURCE = "data/tv24-provider.swagger.yaml"

# Paths whose path parameters carry the invalid ``style: form``.
_FORM_STYLED_PATHS = ("/v2/users/{id}", "/v2/users/{id}/archive")


def spec_text() -> str:
    """The document exactly as shipped (and as the platform publishes it)."""
    return resources.files("plugin_tv24").joinpath(SPEC_RESOURCE).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _parsed() -> dict[str, Any]:
    # Parsing 180 kB of YAML takes a noticeable fraction of a second: do it once, and
    # hand out deep copies so that no caller can alter another caller's document.
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "reading the 24h TV OpenAPI document needs PyYAML: pip install 'abonent-tv24[test]'"
        ) from exc
    return yaml.safe_load(spec_text())


def load_raw_spec() -> dict[str, Any]:
    """The document as published, defects included (a fresh copy on every call)."""
    return copy.deepcopy(_parsed())


def repair(document: dict[str, Any]) -> dict[str, Any]:
    """Return a deep copy of ``document`` with the known defects fixed.

    A path parameter is always ``style: simple`` (the default), so the invalid ``style``
    and the ``explode`` that only made sense with it are dropped. Defects that are no
    longer there (a future, corrected document) are simply left alone.
    """
    fixed = copy.deepcopy(document)
    for path in _FORM_STYLED_PATHS:
        for operation in fixed.get("paths", {}).get(path, {}).values():
            for parameter in operation.get("parameters", ()):
                if parameter.get("in") == "path" and parameter.get("style") == "form":
                    del parameter["style"]
                    parameter.pop("explode", None)
    schemes = fixed.get("components", {}).get("securitySchemes", {})
    header_scheme = schemes.get("userAccessTokenHeader", {})
    if header_scheme.get("in") == "headers":
        header_scheme["in"] = "header"
    return fixed


def load_spec() -> dict[str, Any]:
    """The repaired document as a plain dict (a fresh copy on every call)."""
    return repair(_parsed())
