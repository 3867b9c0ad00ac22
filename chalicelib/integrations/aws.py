"""AWS clients: created on first use and cached, so `import app` stays cheap on a cold start."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

if TYPE_CHECKING:
    from boto3.session import Session
    from botocore.client import BaseClient
    from botocore.config import Config
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_comprehend import ComprehendClient
    from mypy_boto3_dynamodb import DynamoDBServiceResource
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_ses import SESClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_stepfunctions import SFNClient

_Response = TypeVar("_Response")

_lock = threading.Lock()

# The @connections API (post_to_connection): one stuck socket must never hold up a fan-out, so a
# post gets 2 s to connect, 3 s to answer and one retry (throttling, a dropped connection),
# instead of botocore's 60 s and three attempts. Notifier bounds each post by the first two.
MANAGEMENT_API_CONNECT_TIMEOUT_SECONDS = 2
MANAGEMENT_API_READ_TIMEOUT_SECONDS = 3
MANAGEMENT_API_TOTAL_ATTEMPTS = 2  # the first attempt included
# Comprehend (the risk check): ComprehendRiskScorer retries throttling itself, with backoff inside
# its own time budget, so botocore makes one attempt, with timeouts a 30 s Lambda can afford.
COMPREHEND_CONNECT_TIMEOUT_SECONDS = 2
COMPREHEND_READ_TIMEOUT_SECONDS = 4


@cache
def _session() -> Session:
    import boto3  # deferred: boto3 costs ~100 ms of import on a cold start

    return boto3.session.Session()


@overload
def client(
    service: Literal["stepfunctions"], *, endpoint_url: str | None = None, region: str | None = None
) -> SFNClient: ...
@overload
def client(service: Literal["ses"], *, endpoint_url: str | None = None, region: str | None = None) -> SESClient: ...
@overload
def client(service: Literal["ssm"], *, endpoint_url: str | None = None, region: str | None = None) -> SSMClient: ...
@overload
def client(
    service: Literal["comprehend"], *, endpoint_url: str | None = None, region: str | None = None
) -> ComprehendClient: ...
@overload
def client(service: Literal["sns"], *, endpoint_url: str | None = None, region: str | None = None) -> BaseClient: ...
@overload
def client(
    service: Literal["apigatewaymanagementapi"], *, endpoint_url: str | None = None, region: str | None = None
) -> ApiGatewayManagementApiClient: ...
def client(service: str, *, endpoint_url: str | None = None, region: str | None = None) -> BaseClient:
    """A cached low-level client for ``service`` (endpoint overrides come from AWS_ENDPOINT_URL_*)."""
    return _cached_client(service, endpoint_url, region)


@lru_cache(maxsize=64)
def _cached_client(service: str, endpoint_url: str | None, region: str | None) -> BaseClient:
    # boto3 sessions are not thread-safe while creating clients; the local runtime is threaded.
    with _lock:
        created: BaseClient = _session().client(  # type: ignore[call-overload]  # the name is a plain str here
            service, endpoint_url=endpoint_url, region_name=region, config=_config(service)
        )
        return created


def table(name: str) -> Table:
    """A cached DynamoDB Table resource."""
    return _cached_table(name)


@lru_cache(maxsize=16)
def _cached_table(name: str) -> Table:
    return _dynamodb_resource().Table(name)


@lru_cache(maxsize=1)
def _dynamodb_resource() -> DynamoDBServiceResource:
    with _lock:
        return _session().resource("dynamodb", config=_config("dynamodb"))


def _config(service: str) -> Config:
    from botocore.config import Config

    if service == "apigatewaymanagementapi":
        return Config(
            connect_timeout=MANAGEMENT_API_CONNECT_TIMEOUT_SECONDS,
            read_timeout=MANAGEMENT_API_READ_TIMEOUT_SECONDS,
            retries={"mode": "standard", "total_max_attempts": MANAGEMENT_API_TOTAL_ATTEMPTS},
            max_pool_connections=64,
        )
    if service == "comprehend":
        return Config(
            connect_timeout=COMPREHEND_CONNECT_TIMEOUT_SECONDS,
            read_timeout=COMPREHEND_READ_TIMEOUT_SECONDS,
            retries={"mode": "standard", "total_max_attempts": 1},
            max_pool_connections=64,
        )
    # Short timeouts: botocore's defaults (60 s, 3 attempts) outlast a 30 s Lambda, which would
    # then die between a decision's write and its callback instead of reporting the failure.
    # Step Functions calls get one retry only for the same reason.
    return Config(
        connect_timeout=3,
        read_timeout=8,
        retries={"mode": "standard", "max_attempts": 2 if service == "stepfunctions" else 3},
        max_pool_connections=64,  # as many as the threads that may share a client locally
    )


def reset_clients() -> None:
    """Drop every cached client (tests switch moto backends between cases)."""
    _cached_table.cache_clear()
    _dynamodb_resource.cache_clear()
    _cached_client.cache_clear()
    _session.cache_clear()


def conditional_write(write: Callable[..., _Response], **arguments: Any) -> _Response | None:
    """Run a DynamoDB write that has a ``ConditionExpression``; None when the condition failed.

    Other errors propagate. ``write`` is a bound client or Table method, e.g. ``table.update_item``.
    """
    from botocore.exceptions import ClientError

    try:
        return write(**arguments)
    except ClientError as error:
        if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
            return None
        raise


def plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; JSON wants int or float."""
    from decimal import Decimal

    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def dynamodb_value(value: Any) -> Any:
    """:func:`plain`'s inverse: boto3 refuses floats (a risk score, say), so numbers go in as Decimal."""
    from decimal import Decimal

    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: dynamodb_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [dynamodb_value(item) for item in value]
    return value


# BatchGetItem reads at most 100 keys per call.
BATCH_GET_LIMIT = 100


def query_all(table: Table, **query: Any) -> list[dict[str, Any]]:
    """Every item a Query matches, page after page (for lists that are whole by design, never a user's page)."""
    items: list[dict[str, Any]] = []
    while True:
        response = table.query(**query)
        items.extend(response.get("Items", []))
        if "LastEvaluatedKey" not in response:
            return items
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def batch_get_all(table: Table, keys: list[dict[str, Any]], **options: Any) -> list[dict[str, Any]]:
    """The items stored under ``keys`` (missing ones skipped): BatchGetItem in chunks, unprocessed keys retried."""
    items: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_LIMIT):
        request: dict[str, Any] = {table.name: {"Keys": keys[start : start + BATCH_GET_LIMIT], **options}}
        while request:
            response = table.meta.client.batch_get_item(RequestItems=request)
            items.extend(response["Responses"].get(table.name, []))
            request = response.get("UnprocessedKeys") or {}
    return items
