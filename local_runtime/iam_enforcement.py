"""The app's functions run locally under the policy ``make deploy`` attaches (deploy/lambda-policy.json), enforced by moto.

A permission missing from ``deploy/`` then fails on the laptop (moto answers AccessDenied and the
app's call raises), not first in the cloud. moto's IAM checks every request once
``settings.INITIAL_NO_AUTH_ACTION_COUNT`` is reached; the runtime switches it on after the stack is
deployed, with two identities: the app (an IAM user holding exactly the rendered deploy policy) and
the runtime's own credentials (an IAM user allowed everything: the person at the AWS CLI).

moto evaluates a statement against one resource ARN per request, and only for the services whose
responses name it; :func:`name_request_resources` names them for DynamoDB and Step Functions, the
services the app calls. What moto cannot evaluate faithfully is listed in docs/local-runtime.md.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from local_runtime.moto_version import require_pinned_moto
from local_runtime.sigv4 import AwsCredentials

APP_USER = "content-moderation-{stage}-functions"
RUNTIME_USER = "local-runtime"
# The key pair moto's Step Functions interpreter signs its service-integration calls with.
INTERPRETER_KEY = ("ak", "sk")
# The WebSocket API's stage on AWS (chalice's api_gateway_stage); locally the app's
# @connections calls never reach moto, so this only keeps the rendered policy complete.
WEBSOCKET_STAGE = "api"
# Distinct policy documents moto checks: the deploy policy and the runtime's, a few in tests.
_POLICY_CACHE_SIZE = 64
_EVERYTHING = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}

_previous_no_auth_count: Any = None


def render_deploy_policy(
    *, stage: str, region: str, account_id: str, sender_email: str | None = None
) -> dict[str, Any]:
    """The policy ``make deploy`` gives the functions, rendered for this stage.

    Every function runs in this one process under one identity, so it holds the shared policy plus
    each function's own statements (today: check_content's ``comprehend:DetectToxicContent``). On
    AWS only check_content has those; docs/local-runtime.md lists this as a gap.
    """
    from deploy.names import Target
    from deploy.policy import function_statements, render_function_policy, render_policy

    target = Target(stage=stage, region=region, account_id=account_id)
    policy = render_policy(target, websocket_stage=WEBSOCKET_STAGE, sender_email=sender_email)
    for function in sorted(function_statements()):
        own = render_function_policy(target, function, websocket_stage=WEBSOCKET_STAGE, sender_email=sender_email)
        policy["Statement"] += [statement for statement in own["Statement"] if statement not in policy["Statement"]]
    return policy


def enforce_deployed_policy(
    *,
    stage: str,
    region: str,
    account_id: str,
    runtime_credentials: AwsCredentials,
    policy: dict[str, Any] | None = None,
    sender_email: str | None = None,
) -> AwsCredentials:
    """Create both identities in moto's IAM, switch enforcement on, and return the app's credentials.

    ``policy`` replaces the rendered deploy policy (tests use it to take a permission away).
    """
    global _previous_no_auth_count
    require_pinned_moto()
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.models import iam_backends

    name_request_resources()
    iam = iam_backends[account_id]["aws"]
    app_user = APP_USER.format(stage=stage)
    iam.create_user(region_name=region, user_name=app_user, path="/", tags=[])
    if policy is None:
        policy = without_unevaluable_conditions(
            render_deploy_policy(stage=stage, region=region, account_id=account_id, sender_email=sender_email)
        )
    iam.put_user_policy(app_user, "deployed-lambda-policy", json.dumps(policy))
    app_key = iam.create_access_key(app_user)

    iam.create_user(region_name=region, user_name=RUNTIME_USER, path="/", tags=[])
    iam.put_user_policy(RUNTIME_USER, "everything", json.dumps(_EVERYTHING))
    runtime_key = iam.create_access_key(RUNTIME_USER)
    # moto generates the key pair; the runtime's own (printed, or chosen by the user) replaces it.
    runtime_key.access_key_id = runtime_credentials.access_key_id
    runtime_key.secret_access_key = runtime_credentials.secret_access_key
    # The Step Functions interpreter signs its service integrations (events:putEvents) with moto's
    # fixed "ak"/"sk": like its Lambda invocations, the state machine's own role is not enforced.
    interpreter_key = iam.create_access_key(RUNTIME_USER)
    interpreter_key.access_key_id, interpreter_key.secret_access_key = INTERPRETER_KEY

    if _previous_no_auth_count is None:
        _previous_no_auth_count = settings.INITIAL_NO_AUTH_ACTION_COUNT
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    return AwsCredentials(app_key.access_key_id, app_key.secret_access_key)


def stop_enforcing() -> None:
    """Give moto back its default (no IAM checks), e.g. when the runtime stops inside a test process."""
    global _previous_no_auth_count
    from moto import settings

    if _previous_no_auth_count is not None:
        settings.INITIAL_NO_AUTH_ACTION_COUNT = _previous_no_auth_count
        _previous_no_auth_count = None


def name_request_resources() -> None:
    """Tell moto's IAM check which ARN a DynamoDB or Step Functions request acts on.

    moto 5.2.5 checks every such request against the resource ``*``, which no statement naming
    a table or state machine matches, so the deploy policy would deny everything. AWS authorises
    a DynamoDB request on its table (or ``table/T/index/I`` for a Query on an index), StartExecution
    on the state machine and DescribeExecution on the execution. ``BaseResponse.call_action`` asks
    a response for ``_determine_resource()`` when it has one; these give it. Idempotent.
    """
    require_pinned_moto()
    from moto.dynamodb.responses import DynamoHandler
    from moto.ses.responses import EmailResponse
    from moto.stepfunctions.responses import StepFunctionResponse

    if hasattr(DynamoHandler, "_determine_resource"):
        return
    DynamoHandler._determine_resource = _dynamodb_resource  # type: ignore[attr-defined]
    StepFunctionResponse._determine_resource = _stepfunctions_resource  # type: ignore[attr-defined]
    EmailResponse._determine_resource = _ses_resource  # type: ignore[attr-defined]


def _request_body(response: Any) -> dict[str, Any]:
    """The request's JSON parameters (moto has already parsed them for some services)."""
    body = response.body
    if isinstance(body, (str, bytes, bytearray)):
        try:
            body = json.loads(body or "{}")
        except ValueError:
            return {}
    return body if isinstance(body, dict) else {}


def _dynamodb_resource(response: Any) -> str:
    """The table (or index) ARN; for batch and transactional writes, the first table named."""
    body = _request_body(response)
    table = body.get("TableName")
    if table is None and isinstance(body.get("RequestItems"), dict) and body["RequestItems"]:
        table = next(iter(body["RequestItems"]))
    if table is None and isinstance(body.get("TransactItems"), list) and body["TransactItems"]:
        first = next(iter(body["TransactItems"][0].values()), {})
        table = first.get("TableName") if isinstance(first, dict) else None
    if not isinstance(table, str):
        return "*"
    arn = f"arn:aws:dynamodb:{response.region}:{response.current_account}:table/{table}"
    index = body.get("IndexName")
    return f"{arn}/index/{index}" if isinstance(index, str) else arn


def _ses_resource(response: Any) -> str:
    """SendEmail acts on the sender's identity (AWS authorises the From address's identity)."""
    source = response.querystring.get("Source", [None])[0] if isinstance(response.querystring, dict) else None
    if not isinstance(source, str):
        return "*"
    return f"arn:aws:ses:{response.region}:{response.current_account}:identity/{source}"


def without_unevaluable_conditions(policy: dict[str, Any]) -> dict[str, Any]:
    """The policy with the conditions moto cannot evaluate removed, so it judges the rest.

    moto 5.2.5 compares a condition's keys only against values a request supplies, and supplies
    none for ``ses:FromAddress``: the sender statement would deny every e-mail. Locally the
    statement is checked by action and identity resource (the From address's identity, named by
    ``_ses_resource``); the condition itself is left to AWS (docs/local-runtime.md).
    """
    statements = []
    for statement in policy["Statement"]:
        condition = statement.get("Condition", {})
        keys = {key for operator in condition.values() for key in operator}
        if keys and keys <= {"ses:FromAddress"}:
            statement = {name: value for name, value in statement.items() if name != "Condition"}
        statements.append(statement)
    return {**policy, "Statement": statements}


def _stepfunctions_resource(response: Any) -> str:
    body = _request_body(response)
    for key in ("executionArn", "stateMachineArn"):
        value = body.get(key)
        if isinstance(value, str):
            return value
    return "*"


def policy_allows_managing_connections(*, stage: str, region: str, account_id: str) -> bool:
    """Whether the deploy policy lets the functions post to WebSocket clients (``execute-api:ManageConnections``).

    The local @connections API is not moto, so moto's IAM never sees those calls; this asks
    moto's policy evaluator the same question AWS asks, for a POST to one connection.
    """
    require_pinned_moto()
    from moto.iam.access_control import IAMPolicy, PermissionResult

    policy = json.dumps(render_deploy_policy(stage=stage, region=region, account_id=account_id))
    connection = f"arn:aws:execute-api:{region}:{account_id}:local/{WEBSOCKET_STAGE}/POST/@connections/any"
    return IAMPolicy(policy).is_action_permitted("execute-api:ManageConnections", connection) == (
        PermissionResult.PERMITTED
    )


def parse_each_policy_once() -> None:
    """Parse each IAM policy document once, not on every request it is checked against.

    moto's ``IAMPolicy`` runs ``json.loads`` over the caller's whole policy for every request,
    and the app's deploy policy is checked on every one of its AWS calls. The parsed document is
    only read (statements are evaluated, never changed), so one parse per document text serves
    every request. Idempotent.
    """
    require_pinned_moto()
    from moto.iam import access_control

    if getattr(access_control.json, "caches_policies", False):
        return
    access_control.json = _CachedPolicyJson()  # type: ignore[assignment]


class _CachedPolicyJson:
    """Stands in for the ``json`` module inside ``moto.iam.access_control`` (which only calls ``loads``)."""

    caches_policies = True

    def __init__(self) -> None:
        self.loads = functools.lru_cache(maxsize=_POLICY_CACHE_SIZE)(json.loads)

    def __getattr__(self, name: str) -> Any:
        return getattr(json, name)


def trust_signatures_checked_before_moto() -> None:
    """Skip moto's second computation of each request's SigV4 signature; keep its policy check.

    Every request that reaches moto was either signed in this process by botocore for the app
    or the interpreter (nothing crosses a trust boundary), or came through the AWS port, whose
    ``sigv4.SignedOnly`` already refused any request not signed with the runtime's credentials.
    Recomputing the signature costs a canonical request and four HMACs per AWS call. The caller's
    access key still selects the IAM user whose policy moto enforces. Idempotent.
    """
    require_pinned_moto()
    from moto.iam.access_control import IAMRequestBase

    if getattr(IAMRequestBase.check_signature, "trusts_earlier_check", False):
        return

    def check_signature(self: Any) -> None:
        pass

    check_signature.trusts_earlier_check = True  # type: ignore[attr-defined]
    IAMRequestBase.check_signature = check_signature  # type: ignore[method-assign]
