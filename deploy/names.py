"""The deterministic names of one stage's AWS resources (the template, the policy and the CLI agree on them)."""

from __future__ import annotations

from dataclasses import dataclass

from deploy.definition import APP_NAME

TABLES = ("submissions", "reviews", "connections", "reviewers")
# The audit trail: the app may only append to it and read it (SPEC §11).
APPEND_ONLY_TABLES = ("history",)
# The /stats counters and the rate limits' windows: the app may only add to them (UpdateItem ADD) and read them.
COUNTER_TABLES = ("stats", "limits")
# Index name -> the table it belongs to (the app queries both).
INDEXES = {
    "pending-by-created": "reviews",
    "pending-by-risk": "reviews",
    "pending-by-deadline": "reviews",
    "decided-by-time": "reviews",
    "status-by-decided": "reviews",
    "review-watchers": "connections",
}
SECRET_PARAMETERS = ("admin-token", "link-signing-secret", "webhook-secret")
# The Standard Webhooks signing key: ``whsec_`` + base64, the format receivers' libraries expect.
WEBHOOK_SECRET_PARAMETER = "webhook-secret"
WEBSOCKET_URL_PARAMETER = "websocket-url"


@dataclass(frozen=True)
class Target:
    """Where one stage is deployed."""

    stage: str
    region: str
    account_id: str
    partition: str = "aws"

    @property
    def dns_suffix(self) -> str:
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"


def table_name(stage: str, table: str) -> str:
    return f"{APP_NAME}-{stage}-{table}"


def state_machine_name(stage: str) -> str:
    return f"{APP_NAME}-{stage}"


def state_machine_arn(target: Target) -> str:
    return (
        f"arn:{target.partition}:states:{target.region}:{target.account_id}:stateMachine:"
        f"{state_machine_name(target.stage)}"
    )


def parameter_name(stage: str, parameter: str) -> str:
    """``/content-moderation/{stage}/{parameter}`` in SSM Parameter Store."""
    return f"/{APP_NAME}/{stage}/{parameter}"


def secret_parameter_names(stage: str) -> list[str]:
    return [parameter_name(stage, parameter) for parameter in SECRET_PARAMETERS]


def all_parameter_names(stage: str) -> list[str]:
    return [*secret_parameter_names(stage), parameter_name(stage, WEBSOCKET_URL_PARAMETER)]


def access_log_group_name(stage: str, api: str) -> str:
    """The log group of ``api``'s ("rest" or "websocket") access logs; the stateful stack creates it."""
    return f"/aws/apigateway/{APP_NAME}-{stage}/{api}-access"
