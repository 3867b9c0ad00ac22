"""The app's functions run under deploy/lambda-policy.json, enforced by moto's IAM (SPEC §6)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from local_runtime.iam_enforcement import (
    enforce_deployed_policy,
    policy_allows_managing_connections,
    render_deploy_policy,
    stop_enforcing,
)
from local_runtime.sigv4 import AwsCredentials
from tests.conftest import ACCOUNT_ID, REGION, STAGE, json_headers, submit, wait_for_status


def _without(policy: dict[str, Any], action: str) -> dict[str, Any]:
    reduced = copy.deepcopy(policy)
    for statement in reduced["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = [name for name in actions if name != action] or ["none:None"]
    return reduced


@pytest.fixture
def enforce(client: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Call with a policy (default: the deploy policy): the app's clients then sign as a user holding only it."""
    from chalicelib import service

    def run_under(policy: dict[str, Any] | None = None) -> AwsCredentials:
        app = enforce_deployed_policy(
            stage=STAGE,
            region=REGION,
            account_id=ACCOUNT_ID,
            runtime_credentials=AwsCredentials.generate(),
            policy=policy,
        )
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", app.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", app.secret_access_key)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        service.reset()
        return app

    try:
        yield run_under
    finally:
        stop_enforcing()
        service.reset()


def test_the_whole_flow_works_under_the_deployed_policy(
    client: Any, admin_headers: dict[str, str], enforce: Any
) -> None:
    from tests.conftest import pending_review_for

    enforce()
    clean = submit(client, "A clean title under IAM")
    wait_for_status(client, clean["submissionId"], "APPROVED")
    flagged = submit(client, "A forbidden title under IAM")
    review = pending_review_for(client, admin_headers, flagged["submissionId"])
    decided = client.http.post(f"/reviews/{review['reviewId']}/reject", headers=admin_headers, body='{"reason": "no"}')
    assert decided.status_code == 200, decided.body
    wait_for_status(client, flagged["submissionId"], "REJECTED")


@pytest.mark.parametrize("action", ["dynamodb:PutItem", "states:StartExecution"])
def test_a_permission_missing_from_the_policy_fails_locally(client: Any, enforce: Any, action: str) -> None:
    enforce(_without(render_deploy_policy(stage=STAGE, region=REGION, account_id=ACCOUNT_ID), action))
    response = client.http.post("/submissions", headers=json_headers(), body='{"title": "A clean title"}')
    # The app's own answer to an AWS error on that call: 500 for the table, 503 for the workflow.
    assert response.status_code == (500 if action.startswith("dynamodb") else 503), response.body


def test_a_key_moto_does_not_know_is_refused(client: Any, enforce: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from chalicelib import service

    enforce()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", AwsCredentials.generate().access_key_id)
    service.reset()
    response = client.http.post("/submissions", headers=json_headers(), body='{"title": "A clean title"}')
    assert response.status_code == 500


def test_posting_to_connections_is_allowed_only_if_the_policy_says_so() -> None:
    assert policy_allows_managing_connections(stage=STAGE, region=REGION, account_id=ACCOUNT_ID)


@pytest.mark.parametrize("granted", [True, False])
def test_an_sms_needs_the_record_outcome_functions_sns_publish(
    client: Any, admin_headers: dict[str, str], enforce: Any, granted: bool
) -> None:
    import json

    from tests.conftest import wait_for

    policy = render_deploy_policy(stage=STAGE, region=REGION, account_id=ACCOUNT_ID)
    enforce(policy if granted else _without(policy, "sns:Publish"))
    created = client.http.post(
        "/submissions",
        headers=json_headers(),
        body=json.dumps({"title": "A clean title to text", "notifyPhone": "+14155550123"}),
    )
    assert created.status_code == 202, created.body
    submission_id = created.json_body["submissionId"]
    wait_for_status(client, submission_id, "APPROVED")

    def sms_events() -> list[dict[str, Any]]:
        items = client.http.get(f"/submissions/{submission_id}/history", headers=admin_headers).json_body["items"]
        return [item for item in items if item.get("channel") == "sms"]

    (event,) = wait_for(sms_events)
    # Without the permission the text is refused (moto answers as IAM would) and the decision stands.
    assert event["event"] == ("delivered" if granted else "delivery_failed"), event
