"""`make run` delivers outcomes: events on the local bus, signed webhooks to a real receiver, e-mails as .eml files."""

from __future__ import annotations

import base64
import email
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

from tests.local_runtime.conftest import http, start_runtime, wait_for

ADDRESS = "reader@example.org"


def _receiver(secret: str) -> tuple[ThreadingHTTPServer, list[dict[str, Any]]]:
    verifier, received = Webhook(secret), []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            headers = {name.lower(): value for name, value in self.headers.items()}
            received.append({"payload": verifier.verify(body, headers), "id": headers["webhook-id"]})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, received


def _bus_queue(runtime: Any) -> str:
    sqs, events = runtime.boto3_client("sqs"), runtime.boto3_client("events")
    queue_url = sqs.create_queue(QueueName="decided")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="decided", EventPattern=json.dumps({"source": ["content-moderation"]}))
    events.put_targets(Rule="decided", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return queue_url


def test_an_outcome_goes_on_the_bus_to_the_webhook_and_into_the_outbox_without_leaking(tmp_path: Path) -> None:
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    server, received = _receiver(secret)
    outbox = tmp_path / "mail"
    runtime = start_runtime(
        tmp_path / "runtime",
        WEBHOOK_URL=f"http://127.0.0.1:{server.server_address[1]}/hook",
        WEBHOOK_SECRET=secret,
        LOCAL_OUTBOX=str(outbox),
    )
    try:
        assert "webhook secret" in runtime.banner() and str(outbox) in runtime.banner()
        queue_url = _bus_queue(runtime)
        created = http("POST", f"{runtime.rest_url}/submissions", {"title": "A quiet walk", "notifyEmail": ADDRESS})
        assert created.status == 202, created
        submission_id = created.body["submissionId"]

        (delivery,) = wait_for(lambda: received)
        files = wait_for(lambda: sorted(outbox.glob("*.eml")))
        sqs = runtime.boto3_client("sqs")
        (message,) = wait_for(lambda: sqs.receive_message(QueueUrl=queue_url).get("Messages"))
        event = json.loads(message["Body"])
    finally:
        exit_status = runtime.stop()
        server.shutdown()
        server.server_close()

    assert exit_status == 0
    assert delivery["payload"]["data"]["submissionId"] == submission_id
    assert delivery["payload"]["data"]["decision"] == "approved"
    assert event["detail-type"] == "Submission Decided" and event["detail"]["submissionId"] == submission_id
    (path,) = files
    mail = email.message_from_bytes(path.read_bytes())
    assert mail["To"] == ADDRESS
    assert "approved" in mail["Subject"] and "Decision: approved" in mail.get_payload()
    printed = runtime.printed_after_banner()
    assert path.name in printed  # one line announces the file...
    assert ADDRESS not in printed  # ...without the address
    assert secret not in printed and secret.removeprefix("whsec_") not in printed


def test_without_a_webhook_url_nothing_is_posted_but_events_still_reach_the_bus(tmp_path: Path) -> None:
    runtime = start_runtime(tmp_path / "runtime")
    try:
        assert "whsec_" in runtime.banner()  # a generated secret, printed for receivers to use
        queue_url = _bus_queue(runtime)
        created = http("POST", f"{runtime.rest_url}/submissions", {"title": "Sunny weather"})
        sqs = runtime.boto3_client("sqs")
        (message,) = wait_for(lambda: sqs.receive_message(QueueUrl=queue_url).get("Messages"))
    finally:
        assert runtime.stop() == 0

    assert json.loads(message["Body"])["detail"]["submissionId"] == created.body["submissionId"]
    assert "webhook." not in runtime.printed_after_banner()
