"""The API's reference page at /api/v1/docs, made from the generated OpenAPI document:
every operation with its parameters, body and answers, the schemas, and a "Send" form
per operation (api/static/reference.js) that calls the API with a token typed on the page.

Swagger UI and ReDoc load from a CDN and there is no network at run time, so the page
is our own: no inline script or style, so the admin's Content-Security-Policy holds.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_smorest import Api

from api.blueprint import PREFIX

METHODS = ("get", "post", "put", "patch", "delete")


def _type(schema: dict[str, Any]) -> str:
    """A schema in a few words: a reference's name, array of …, type (format)."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"array of {_type(schema.get('items', {}))}"
    kind = schema.get("type", "object")
    if schema.get("format"):
        kind += f" ({schema['format']})"
    if schema.get("enum"):
        kind += ": " + " | ".join(map(str, schema["enum"]))
    return kind + (", or null" if schema.get("nullable") else "")


def _body(operation: dict[str, Any]) -> str | None:
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return None if schema is None else _type(schema)


def _answer(spec: dict[str, Any], status: str, answer: dict[str, Any]) -> dict[str, str]:
    if "$ref" in answer:  # a shared answer (the default error) of components/responses
        answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    content = answer.get("content", {})
    body = content.get("application/json")
    return {"status": status, "description": answer.get("description", ""),
            "type": _type(body["schema"]) if body else "",
            # a document (an invoice's PDF) is named by its media type
            "media": "" if body else ", ".join(content)}


def operations(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            found.append({
                "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                "method": method.upper(), "path": path, "tag": (op.get("tags") or [""])[0],
                "summary": op.get("summary", ""), "description": op.get("description", ""),
                "parameters": [{"name": p["name"], "in": p["in"], "required": p.get("required"),
                                "type": _type(p.get("schema", {})),
                                "description": p.get("description", "")}
                               for p in [*item.get("parameters", []), *op.get("parameters", [])]],
                "body": _body(op),
                "responses": [_answer(spec, status, answer)
                              for status, answer in sorted(op["responses"].items())],
            })
    return found


def schemas(spec: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", ()))
        found.append({"name": name, "properties": [
            {"name": prop, "type": _type(value), "required": prop in required,
             "description": value.get("description", "")}
            for prop, value in schema.get("properties", {}).items()]})
    return found


def blueprint(api: Api) -> Blueprint:
    page = Blueprint("api_reference", __name__, url_prefix=PREFIX, template_folder="templates",
                     static_folder="static", static_url_path="/static")

    @page.get("/docs")
    def docs():
        spec = api.spec.to_dict()
        return render_template("api/reference.html", info=spec["info"],
                               operations=operations(spec), schemas=schemas(spec),
                               spec_url=f"{PREFIX}/openapi.json", prefix=PREFIX)

    return page
