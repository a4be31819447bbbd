"""The served OpenAPI document: structurally valid OpenAPI 3.0 and true to the app's router."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from server.openapi import document

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
TYPES = {"integer", "number", "string", "boolean", "array", "object"}
PUBLIC = {("post", "/api/login"), ("get", "/api/openapi.json")}


def _walk(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object in the document with its JSON pointer."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _walk(value, f"{where}/{i}")


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _schemas(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema object: under ``schema`` keys, component schemas and their sub-schemas."""
    roots = [(where + "/schema", node["schema"]) for where, node in _walk(doc) if "schema" in node]
    roots += [
        (f"#/components/schemas/{name}", schema)
        for name, schema in doc.get("components", {}).get("schemas", {}).items()
    ]
    for where, schema in roots:
        for inner_where, inner in _walk(schema, where):
            parent = inner_where.rsplit("/", 1)[-1]
            if parent != "properties":  # the map of property names is not a schema
                yield inner_where, inner


def _router_routes(app: web.Application) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/") and route.method != "HEAD":
            found.add((route.method.lower(), path))
    return found


async def test_the_document_is_structurally_valid_openapi_3(client: TestClient[Any, Any]) -> None:
    async with client.get("/api/openapi.json") as resp:
        assert resp.status == 200 and resp.content_type == "application/json"
        doc = await resp.json()
    assert doc == document()
    assert re.fullmatch(r"3\.0\.\d+", doc["openapi"])
    assert isinstance(doc["info"]["title"], str) and isinstance(doc["info"]["version"], str)
    assert set(doc) <= {"openapi", "info", "servers", "paths", "components", "security", "tags"}
    schemes = doc["components"]["securitySchemes"]
    for requirement in doc.get("security", []):
        assert set(requirement) <= set(schemes)
    for name, scheme in schemes.items():
        assert scheme["type"] in {"apiKey", "http", "oauth2", "openIdConnect"}, name
        if scheme["type"] == "apiKey":
            assert scheme["in"] in {"query", "header", "cookie"} and scheme["name"]

    operation_ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/api/"), path
        templated = set(re.findall(r"\{([^}]+)\}", path))
        for method, op in item.items():
            assert method in METHODS, (path, method)
            where = f"{method.upper()} {path}"
            params = op.get("parameters", []) + item.get("parameters", [])
            in_path = {p["name"] for p in params if p["in"] == "path"}
            assert in_path == templated, where
            for param in params:
                assert param["in"] in {"path", "query", "header", "cookie"}, where
                assert "schema" in param or "content" in param, where
                if param["in"] == "path":
                    assert param["required"] is True, where
            assert op["responses"], where
            for status, response in op["responses"].items():
                assert re.fullmatch(r"[1-5]\d\d|[1-5]XX|default", status), (where, status)
                assert isinstance(response["description"], str), (where, status)
            if "requestBody" in op:
                assert op["requestBody"]["content"], where
            for requirement in op.get("security", []):
                assert set(requirement) <= set(schemes), where
            if "operationId" in op:
                operation_ids.append(op["operationId"])
    assert len(operation_ids) == len(set(operation_ids))

    for where, node in _walk(doc):
        if "$ref" in node:
            assert _resolve(doc, node["$ref"]) is not None, where
    for where, schema in _schemas(doc):
        if "type" in schema:
            assert isinstance(schema["type"], str), f"{where}: OpenAPI 3.0 types are strings"
            assert schema["type"] in TYPES, where
        if schema.get("type") == "array":
            assert "items" in schema, f"{where}: OpenAPI 3.0 arrays need items"
        if "nullable" in schema:
            assert isinstance(schema["nullable"], bool), where


async def test_the_document_lists_exactly_the_routes_of_the_app(
    client: TestClient[Any, Any],
    app: web.Application,
) -> None:
    doc = document()
    documented = {(method, path) for path, item in doc["paths"].items() for method in item}
    routes = _router_routes(app)
    assert routes - documented == set(), "routes the document does not describe"
    assert documented - routes == set(), "described operations the app does not have"
    for method, path in documented:
        op = doc["paths"][path][method]
        if (method, path) in PUBLIC:
            assert op.get("security") == [], f"{method} {path} needs no session"
        else:
            assert "security" not in op or op["security"], f"{method} {path}"
            assert "401" in op["responses"], f"{method} {path} answers 401 when anonymous"
