"""API Gateway throttling: each stage's steady rate and burst for the REST API and the WebSocket API's routes.

The first layer of SPEC §18's defences, in front of the app's own limits: API Gateway answers
``429 Too Many Requests`` past these rates without invoking a Lambda function, so a flood costs
neither a Lambda invocation nor a DynamoDB write. Without them a stage inherits the account's
limit (10,000 requests a second, bursts of 5,000, shared by every API in the region), far more
than this service needs. Chalice has no setting for them, so the deploy command sets them on the
stages after ``chalice deploy``, as it does the access logs; every deploy sets them, from the
environment or the defaults below.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Requests a second (steady) and the bucket size (burst), per stage, for every method and route.
DEFAULT_REST_RATE_LIMIT = 50.0
DEFAULT_REST_BURST_LIMIT = 100
DEFAULT_WEBSOCKET_RATE_LIMIT = 50.0
DEFAULT_WEBSOCKET_BURST_LIMIT = 100
# The variables the deploy reads, with their defaults (the CLI's --help and docs/deploy.md list them).
VARIABLES = {
    "API_THROTTLE_RATE_LIMIT": DEFAULT_REST_RATE_LIMIT,
    "API_THROTTLE_BURST_LIMIT": DEFAULT_REST_BURST_LIMIT,
    "WEBSOCKET_THROTTLE_RATE_LIMIT": DEFAULT_WEBSOCKET_RATE_LIMIT,
    "WEBSOCKET_THROTTLE_BURST_LIMIT": DEFAULT_WEBSOCKET_BURST_LIMIT,
}
# The REST stage's setting for every resource and method.
_ALL_METHODS = "*/*"


@dataclass(frozen=True)
class Throttle:
    """A steady rate (requests a second) and a burst (requests at once)."""

    rate_limit: float
    burst_limit: int


@dataclass(frozen=True)
class ThrottleSettings:
    rest: Throttle = Throttle(DEFAULT_REST_RATE_LIMIT, DEFAULT_REST_BURST_LIMIT)
    websocket: Throttle = Throttle(DEFAULT_WEBSOCKET_RATE_LIMIT, DEFAULT_WEBSOCKET_BURST_LIMIT)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ThrottleSettings:
        """Raises ValueError naming the variable for a rate that is not a positive number or a burst not a whole one."""
        return cls(
            rest=Throttle(
                _rate(environ, "API_THROTTLE_RATE_LIMIT", DEFAULT_REST_RATE_LIMIT),
                _burst(environ, "API_THROTTLE_BURST_LIMIT", DEFAULT_REST_BURST_LIMIT),
            ),
            websocket=Throttle(
                _rate(environ, "WEBSOCKET_THROTTLE_RATE_LIMIT", DEFAULT_WEBSOCKET_RATE_LIMIT),
                _burst(environ, "WEBSOCKET_THROTTLE_BURST_LIMIT", DEFAULT_WEBSOCKET_BURST_LIMIT),
            ),
        )


def _rate(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of requests a second, got {raw!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"{name} must be more than 0, got {raw!r}")
    return value


def _burst(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = (environ.get(name) or "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of requests, at least 1, got {raw!r}")
    return int(raw)


def throttle_rest_stage(apigateway: Any, *, rest_api_id: str, stage_name: str, throttle: Throttle) -> bool:
    """Set the REST stage's rate and burst for every method (``*/*``); whether it changed."""
    stage = apigateway.get_stage(restApiId=rest_api_id, stageName=stage_name)
    current = stage.get("methodSettings", {}).get(_ALL_METHODS, {})
    if (current.get("throttlingRateLimit"), current.get("throttlingBurstLimit")) == (
        throttle.rate_limit,
        throttle.burst_limit,
    ):
        return False
    apigateway.update_stage(
        restApiId=rest_api_id,
        stageName=stage_name,
        patchOperations=[
            {"op": "replace", "path": f"/{_ALL_METHODS}/throttling/rateLimit", "value": str(throttle.rate_limit)},
            {"op": "replace", "path": f"/{_ALL_METHODS}/throttling/burstLimit", "value": str(throttle.burst_limit)},
        ],
    )
    return True


def throttle_websocket_stage(apigatewayv2: Any, *, api_id: str, stage_name: str, throttle: Throttle) -> bool:
    """Set the WebSocket stage's default route throttling (every route: $connect, $default, $disconnect); whether it changed."""
    stage = apigatewayv2.get_stage(ApiId=api_id, StageName=stage_name)
    settings = dict(stage.get("DefaultRouteSettings") or {})
    if (settings.get("ThrottlingRateLimit"), settings.get("ThrottlingBurstLimit")) == (
        throttle.rate_limit,
        throttle.burst_limit,
    ):
        return False
    settings.update(ThrottlingRateLimit=throttle.rate_limit, ThrottlingBurstLimit=throttle.burst_limit)
    apigatewayv2.update_stage(ApiId=api_id, StageName=stage_name, DefaultRouteSettings=settings)
    return True
