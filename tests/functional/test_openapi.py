"""GET /openapi.json: a valid OpenAPI 3.1 document that is true to app.py's routes and chalicelib's limits."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    """The document as the route serves it (no AWS is touched, so no moto either)."""
    from chalice.test import Client

    import app

    with Client(app.app, stage_name="pytest") as test_client:
        response = test_client.http.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    return json.loads(response.body)


def _template(path: str) -> str:
    """A path with its parameter names blanked: the doc says {submissionId}, Chalice {submission_id}."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def _chalice_routes() -> dict[str, set[str]]:
    import app

    return {_template(path): {method.lower() for method in entries} for path, entries in app.app.routes.items()}


def _documented_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _operation(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return document["paths"][path][method]


def _json_body_schema(document: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    body = _operation(document, path, method)["requestBody"]
    return _resolve(document, body["content"]["application/json"]["schema"])


def test_openapi_json_is_served_to_anyone_as_json(document):
    assert document["openapi"].startswith("3.1.")
    assert document["paths"]


def test_document_is_valid_openapi_3_1(document):
    from openapi_spec_validator import OpenAPIV31SpecValidator

    errors = [error.message for error in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_every_route_is_documented_with_its_methods_and_nothing_else_is(document):
    documented: dict[str, set[str]] = {}
    for path, method, _operation_object in _documented_operations(document):
        documented.setdefault(_template(path), set()).add(method)

    assert documented == _chalice_routes()


def test_admin_routes_and_only_they_need_the_bearer_token(document):
    import app

    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    documented = {
        (_template(path), method): operation.get("security", document.get("security", []))
        for path, method, operation in _documented_operations(document)
    }
    for path, entries in app.app.routes.items():
        for method, entry in entries.items():
            expected = [{"bearerAuth": []}] if entry.authorizer is not None else []
            assert documented[(_template(path), method.lower())] == expected, (method, path)


def test_every_operation_documents_its_error_shape(document):
    for path, method, operation in _documented_operations(document):
        responses = operation["responses"]
        assert any(code.startswith("2") for code in responses), (method, path)
        for code, response in responses.items():
            content = _resolve(document, response).get("content", {})  # a 204 has none
            if code.startswith(("4", "5")) and "application/json" in content:
                schema = _resolve(document, content["application/json"]["schema"])
                shapes = [_resolve(document, option) for option in schema.get("oneOf", [schema])]
                assert document["components"]["schemas"]["Error"] in shapes, (method, path, code)


def test_documented_limits_are_the_codes_limits(document):
    from chalicelib.domain.identifiers import IDEMPOTENCY_KEY_MAX_CHARACTERS
    from chalicelib.domain.review import (
        DECIDED_STATUSES,
        DEFAULT_PAGE_SIZE,
        MAX_PAGE_SIZE,
        PENDING_ORDERS,
        REASON_MAX_CHARACTERS,
    )
    from chalicelib.domain.submission import BODY_MAX_BYTES, TITLE_MAX_CHARACTERS
    from chalicelib.web.requests import SUBMISSION_FIELDS

    submission = _json_body_schema(document, "/submissions", "post")
    assert submission["additionalProperties"] is False
    assert set(submission["properties"]) == SUBMISSION_FIELDS
    assert submission["properties"]["title"]["maxLength"] == TITLE_MAX_CHARACTERS
    assert submission["properties"]["body"]["maxLength"] == BODY_MAX_BYTES  # characters: the bytes are checked too

    for action in ("approve", "reject"):
        decision = _json_body_schema(document, f"/reviews/{{reviewId}}/{action}", "post")
        assert decision["additionalProperties"] is False
        assert decision["properties"]["reason"]["maxLength"] == REASON_MAX_CHARACTERS

    idempotency_key = document["components"]["parameters"]["IdempotencyKey"]
    assert idempotency_key["schema"]["maxLength"] == IDEMPOTENCY_KEY_MAX_CHARACTERS
    for path in ("/submissions", "/reviews/{reviewId}/approve", "/reviews/{reviewId}/reject"):
        parameters = [_resolve(document, parameter) for parameter in _operation(document, path, "post")["parameters"]]
        assert idempotency_key in parameters, path

    query = {
        parameter["name"]: parameter["schema"] for parameter in _operation(document, "/reviews", "get")["parameters"]
    }
    assert (query["limit"]["minimum"], query["limit"]["maximum"], query["limit"]["default"]) == (
        1,
        MAX_PAGE_SIZE,
        DEFAULT_PAGE_SIZE,
    )
    assert query["status"]["enum"] == ["pending", *DECIDED_STATUSES]
    assert query["order"]["enum"] == list(PENDING_ORDERS)


def test_documented_request_content_types_are_ones_the_route_accepts(document):
    import app

    for path, method, operation in _documented_operations(document):
        if "requestBody" not in operation:
            continue
        route = next(
            entries[method.upper()]
            for chalice_path, entries in app.app.routes.items()
            if _template(chalice_path) == _template(path)
        )
        assert set(operation["requestBody"]["content"]) <= set(route.content_types), (method, path)


def test_review_schema_cannot_carry_the_task_token(document):
    review = document["components"]["schemas"]["Review"]

    assert review["additionalProperties"] is False
    assert not {"taskToken", "executionArn"} & set(review["properties"])


def test_the_notify_phone_pattern_is_the_one_the_api_enforces(document):
    from chalicelib.domain.submission import PHONE_PATTERN

    schema = document["components"]["schemas"]["SubmissionRequest"]["properties"]["notifyPhone"]
    assert schema["pattern"] == f"^{PHONE_PATTERN}$"


def test_the_documented_category_shape_accepts_every_default_category(document):
    from chalicelib.domain.review import DEFAULT_REJECTION_CATEGORIES

    pattern = re.compile(document["components"]["schemas"]["Category"]["pattern"])
    assert all(pattern.fullmatch(category) for category in DEFAULT_REJECTION_CATEGORIES)
