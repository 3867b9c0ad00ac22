"""The internal ports take only requests SigV4-signed with the runtime's own credentials (SPEC §6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local_runtime.sigv4 import AwsCredentials, SignatureRefused, verify_request
from tests.local_runtime.conftest import REGION, RunningRuntime, http, sign, submit, wait_for

URL = "http://127.0.0.1:8003/"
BODY = b'{"TableName": "reviews"}'


def _verify(credentials: AwsCredentials, headers: dict[str, str], body: bytes = BODY, **kwargs: Any) -> None:
    lowered = {"host": "127.0.0.1:8003", **{name.lower(): value for name, value in headers.items()}}
    verify_request(credentials, method="POST", raw_path="/", header=lowered.get, body=body, **kwargs)


def _signed_headers(credentials: AwsCredentials) -> dict[str, str]:
    return sign("POST", URL, BODY, {"X-Amz-Target": "DynamoDB_20120810.Scan"}, credentials, service="dynamodb")


def test_a_request_signed_by_botocore_with_the_runtime_credentials_is_accepted() -> None:
    credentials = AwsCredentials.generate()
    _verify(credentials, _signed_headers(credentials))


@pytest.mark.parametrize(
    ("change", "error_type"),
    [
        ("unsigned", "MissingAuthenticationTokenException"),
        ("other key", "UnrecognizedClientException"),
        ("other secret", "InvalidSignatureException"),
        ("tampered body", "InvalidSignatureException"),
        ("tampered header", "InvalidSignatureException"),
        ("stale", "InvalidSignatureException"),
    ],
)
def test_anything_else_is_refused(change: str, error_type: str) -> None:
    credentials = AwsCredentials.generate()
    signer = credentials
    if change == "other key":
        signer = AwsCredentials.generate()
    elif change == "other secret":
        signer = AwsCredentials(credentials.access_key_id, AwsCredentials.generate().secret_access_key)
    headers = {} if change == "unsigned" else _signed_headers(signer)
    body = BODY + b" " if change == "tampered body" else BODY
    if change == "tampered header":
        headers["X-Amz-Target"] = "DynamoDB_20120810.DeleteTable"
    now = datetime.now(UTC) + (timedelta(minutes=16) if change == "stale" else timedelta())
    with pytest.raises(SignatureRefused) as refused:
        _verify(credentials, headers, body, now=now)
    assert refused.value.error_type == error_type


def test_the_banner_prints_the_aws_port_credentials_and_a_cli_example(runtime: RunningRuntime) -> None:
    banner = runtime.output()
    assert f"export AWS_ACCESS_KEY_ID={runtime.credentials.access_key_id} " in banner
    assert f"AWS_DEFAULT_REGION={REGION}" in banner
    assert f"aws --endpoint-url {runtime.moto_url} stepfunctions list-executions --state-machine-arn arn:aws:" in banner


def test_an_unsigned_caller_can_neither_read_a_task_token_nor_send_task_success(runtime: RunningRuntime) -> None:
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.exceptions import ClientError

    submission_id = submit(runtime, "A forbidden title for an intruder")
    reviews = runtime.boto3_client("dynamodb")
    table_name = next(name for name in reviews.list_tables()["TableNames"] if "review" in name.lower())

    def review_item() -> dict[str, Any] | None:
        items = reviews.scan(TableName=table_name)["Items"]
        return next((item for item in items if item["submissionId"]["S"] == submission_id), None)

    token = wait_for(review_item)["taskToken"]["S"]  # the owner of the credentials can read it

    unsigned = Config(signature_version=UNSIGNED)
    with pytest.raises(ClientError) as read:
        runtime.boto3_client("dynamodb", config=unsigned).scan(TableName=table_name)
    assert read.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    for client in (
        runtime.boto3_client("stepfunctions", config=unsigned),
        runtime.boto3_client(
            "stepfunctions",
            aws_access_key_id=runtime.credentials.access_key_id,
            aws_secret_access_key=AwsCredentials.generate().secret_access_key,
        ),
    ):
        with pytest.raises(ClientError) as resumed:
            client.send_task_success(taskToken=token, output='{"decision": "approved"}')
        assert resumed.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    status = http("GET", f"{runtime.rest_url}/submissions/{submission_id}").body["status"]
    assert status == "IN_REVIEW"


def test_the_connections_api_refuses_unsigned_and_wrongly_signed_posts(runtime: RunningRuntime) -> None:
    url = f"{runtime.management_url}/@connections/AAAAAAAAAAAAAAAAAAAA"
    assert http("POST", url, {"x": 1}).status == 403
    assert http("POST", url, {"x": 1}, signed_by=AwsCredentials.generate()).status == 403
    assert http("POST", url, {"x": 1}, signed_by=runtime.credentials).status == 410
