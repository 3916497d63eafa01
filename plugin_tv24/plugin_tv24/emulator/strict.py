"""Refusing every request the platform's own OpenAPI document does not allow.

The emulator must be at least as strict as the platform, or the billing learns its
mistakes in production (a nightly reconciliation that asked for
``subscriptions=current,planned`` when the document allows one value). So each ``/v2``
request is checked against the operation the document declares for its method and path,
and nothing is hand-listed here:

* query parameters the operation does not declare are refused (the provider token of
  the operation's security schemes is declared that way too), as are repeated ones and
  declared ones that are required but missing;
* each query and path value must fit its schema: integer, boolean, ``minLength``,
  ``maximum``, ``pattern``, ``enum``, ``format: date-time``;
* where the operation's description lists the values a parameter takes (the document's
  way for ``subscriptions`` and ``types``: ``- current - текущие …``), the value must be
  ONE of them;
* a JSON body must fit the operation's request schema as a writer sees it (types,
  lengths, no read-only fields), via openapi-schema-validator.

A refusal is the platform's 400 envelope with a DRF-style ``detail`` naming the
parameter. The business rules no schema can say (unique phones, one base packet) stay
in :mod:`.forms` and :mod:`.state`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError
from openapi_schema_validator import OAS30WriteValidator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from ..spec import load_spec
from .errors import ApiError

_DOCUMENT = "urn:tv24-provider"  # the document's base URI inside the schema registry
_LISTED_VALUE = re.compile(r"^(\s*)- ([\w.]+) - ")
_INTEGER = re.compile(r"-?\d+")
NOT_DECLARED = "Unknown parameter: this operation does not declare it."
REPEATED = "Expected one value, got several."
_ANY: dict = {}  # the schema of a path parameter the document forgot to declare


@dataclass(frozen=True)
class Operation:
    """One operation of the document, ready to check requests against."""

    method: str
    template: str
    pattern: re.Pattern
    literal_segments: int
    query: Mapping[str, dict]
    required: frozenset[str]
    path: Mapping[str, dict]
    body: dict | None


def described_values(description: str, name: str) -> tuple[str, ...]:
    """The values an operation's description lists for parameter ``name``: the items
    ``- value - meaning`` indented under the first line that names the parameter."""
    lines = description.splitlines()
    mention = re.compile(rf"(?<![\w.]){re.escape(name)}(?![\w.])")
    for index, line in enumerate(lines):
        first = _LISTED_VALUE.match(lines[index + 1]) if index + 1 < len(lines) else None
        if not mention.search(line) or first is None:
            continue
        depth = len(first.group(1))
        if depth <= len(line) - len(line.lstrip()):
            continue
        values = []
        for following in lines[index + 1:]:
            item = _LISTED_VALUE.match(following)
            if item is None or len(item.group(1)) < depth:
                break
            if len(item.group(1)) == depth:
                values.append(item.group(2))
        return tuple(values)
    return ()


def _security_parameters(document: dict, operation: dict) -> set[str]:
    """Query parameters the operation's security schemes put in the query (``token``)."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    names = set()
    for requirement in operation.get("security", document.get("security", [])):
        for scheme in requirement:
            found = schemes.get(scheme, {})
            if found.get("type") == "apiKey" and found.get("in") == "query":
                names.add(found["name"])
    return names


def operations(document: dict) -> list[Operation]:
    """Every operation of ``document``, the most specific paths first."""
    found = []
    for template, item in document.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method, operation in item.items():
            if method == "parameters":
                continue
            parameters = [*shared, *operation.get("parameters", [])]
            query: dict[str, dict] = {}
            for parameter in (p for p in parameters if p["in"] == "query"):
                schema = dict(parameter.get("schema", {}))
                listed = described_values(operation.get("description", ""), parameter["name"])
                if listed and "enum" not in schema:
                    schema["enum"] = list(listed)
                query[parameter["name"]] = schema
            query.update({name: {"type": "string", "minLength": 1}
                          for name in _security_parameters(document, operation)})
            path = {p["name"]: p.get("schema", {}) for p in parameters if p["in"] == "path"}
            content = operation.get("requestBody", {}).get("content", {})
            regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
            found.append(Operation(
                method=method.upper(), template=template, pattern=re.compile(f"^{regex}$"),
                literal_segments=sum(1 for s in template.split("/") if s and "{" not in s),
                query=query,
                required=frozenset(p["name"] for p in parameters
                                   if p["in"] == "query" and p.get("required")),
                path=path, body=content.get("application/json", {}).get("schema")))
    return sorted(found, key=lambda op: -op.literal_segments)


def _scalar(value: str, schema: dict) -> Any:
    """A query/path string as the JSON value its schema speaks of (or left a string, for
    the schema check to refuse)."""
    kind = schema.get("type")
    if kind == "integer" and _INTEGER.fullmatch(value):
        return int(value)
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


_DRF_TYPES = {"integer": "A valid integer is required.", "string": "Not a valid string.",
              "boolean": "Must be a valid boolean.", "number": "A valid number is required.",
              "array": "Expected a list of items.", "object": "Expected a dictionary of items."}

_DRF_FORMATS = {"email": "Enter a valid email address.",
                "date-time": "Datetime has wrong format. Use one of these formats instead: "
                             "YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z]."}


def _drf_message(error: ValidationError) -> str:
    """jsonschema's complaint in the words Django REST framework (the platform) uses."""
    limit = error.validator_value
    if error.validator == "type":
        return _DRF_TYPES.get(limit, error.message)
    if error.validator == "maximum":
        return f"Ensure this value is less than or equal to {limit}."
    if error.validator == "minimum":
        return f"Ensure this value is greater than or equal to {limit}."
    if error.validator == "maxLength":
        return f"Ensure this field has no more than {limit} characters."
    if error.validator == "minLength":
        return "This field may not be blank." if limit == 1 else \
            f"Ensure this field has at least {limit} characters."
    if error.validator == "format":
        if error.instance == "":
            return "This field may not be blank."
        return _DRF_FORMATS.get(limit, error.message)
    if error.validator == "enum":
        return f'"{error.instance}" is not a valid choice: expected exactly one of {", ".join(map(str, limit))}.'
    return error.message


def _errors(validator: OAS30WriteValidator, value: Any, name: str | None) -> dict[str, list[str]]:
    """Every problem of ``value``, by field: ``name`` for a parameter, else the body's
    field path (``device_limit``, ``0.packet_id``) or ``non_field_errors``."""
    found: dict[str, list[str]] = {}
    for error in validator.iter_errors(value):
        where = name or ".".join(map(str, error.path)) or "non_field_errors"
        found.setdefault(where, []).append(_drf_message(error))
    return found


class StrictRequests:
    """Checks requests against the (repaired) provider document."""

    def __init__(self, document: dict | None = None):
        self.document = document if document is not None else load_spec()
        self.operations = operations(self.document)
        self._registry = Registry().with_resource(
            _DOCUMENT, Resource.from_contents(self.document, default_specification=DRAFT4))
        self._validators: dict[int, OAS30WriteValidator] = {}

    def _check(self, schema: dict, value: Any, name: str | None = None) -> dict[str, list[str]]:
        """The problems of ``value`` against ``schema`` (one of the document's, kept alive
        by its operation), by field."""
        validator = self._validators.get(id(schema))
        if validator is None:
            validator = self._validators[id(schema)] = OAS30WriteValidator(
                _anchored(schema), registry=self._registry, format_checker=oas30_format_checker)
        return _errors(validator, value, name)

    def operation(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        for candidate in self.operations:
            matched = candidate.pattern.match(path)
            if candidate.method == method and matched:
                return candidate, matched.groupdict()
        return None

    def check(self, method: str, path: str, query: Iterable[tuple[str, str]],
              body: Any = None, has_body: bool = False) -> None:
        """Raise :class:`ApiError` (400) unless the document allows this request.
        ``query`` is every (name, value) pair as sent; ``body`` the parsed JSON body."""
        found = self.operation(method, path)
        if found is None:
            return  # no such operation: the router answers 404 or 405
        operation, path_values = found
        errors: dict[str, list[str]] = {}
        seen: dict[str, str] = {}
        for name, value in query:
            if name not in operation.query:
                errors[name] = [NOT_DECLARED]
            elif name in seen:
                errors[name] = [REPEATED]
            seen.setdefault(name, value)
        for name in operation.required - set(seen):
            errors[name] = ["This field is required."]
        for name, value in seen.items():
            schema = operation.query.get(name)
            if name not in errors and schema is not None:
                errors.update(self._check(schema, _scalar(value, schema), name))
        for name, value in path_values.items():
            schema = operation.path.get(name, _ANY)
            errors.update(self._check(schema, _scalar(value, schema), name))
        if has_body and operation.body is not None:
            errors.update(self._check(operation.body, body))
        if errors:
            raise ApiError(400, detail=errors)


def _anchored(schema: Any) -> Any:
    """The schema with its local ``$ref``s pointing into the registered document."""
    if isinstance(schema, dict):
        return {key: (f"{_DOCUMENT}{value}" if key == "$ref" and value.startswith("#")
                      else _anchored(value)) for key, value in schema.items()}
    if isinstance(schema, list):
        return [_anchored(item) for item in schema]
    return schema
