"""Fixtures: the local runtime started as a subprocess on free ports, exactly as ``make run`` starts it."""

from __future__ import annotations

import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from local_runtime.harness import free_ports
from local_runtime.harness import wait_for as shared_wait_for
from local_runtime.sigv4 import AwsCredentials
from tests.local_runtime.forked_runtime import ForkedRuntimeProcess, fork_runtime, forking_enabled

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "local-runtime-test-token"
LINK_SIGNING_SECRET = "local-runtime-test-link-secret"
READY_LINE = "\nready\n"
STARTUP_TIMEOUT = 60.0
REGION = "us-east-1"


def raise_open_file_limit(wanted: int = 8192) -> None:
    """The 1,000-connection test holds 1,000 client sockets in this process."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


# The shared poller, with the longer defaults a separate process needs.
wait_for = functools.partial(shared_wait_for, timeout=30.0, interval=0.1)


@dataclass
class HttpResult:
    status: int
    body: Any
    headers: dict[str, str]


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    *,
    signed_by: AwsCredentials | None = None,
    service: str = "execute-api",
) -> HttpResult:
    """One real HTTP request (a fresh connection each time); JSON in and out; SigV4-signed when ``signed_by`` is given."""
    data = json.dumps(body).encode() if body is not None else None
    headers = dict(headers or {})
    if data is not None:
        headers["Content-Type"] = "application/json"
    if signed_by is not None:
        headers = sign(method, url, data or b"", headers, signed_by, service=service)
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, raw, response_headers = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, response_headers = error.code, error.read(), dict(error.headers)
    try:
        parsed: Any = json.loads(raw) if raw else None
    except ValueError:
        parsed = raw.decode("utf-8", "replace")
    return HttpResult(status, parsed, response_headers)


def sign(
    method: str, url: str, body: bytes, headers: dict[str, str], credentials: AwsCredentials, *, service: str
) -> dict[str, str]:
    """``headers`` plus the SigV4 headers botocore would add for ``credentials``."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    SigV4Auth(Credentials(credentials.access_key_id, credentials.secret_access_key), service, REGION).add_auth(request)
    return dict(request.headers.items())


@dataclass
class RunningRuntime:
    """A ``python -m local_runtime`` process (or a fork that runs the same: forked_runtime.py) and how to reach it."""

    process: subprocess.Popen[bytes] | ForkedRuntimeProcess
    stdout_path: Path
    stderr_path: Path
    rest_url: str
    ws_url: str
    management_url: str
    moto_url: str
    admin_token: str
    ports: dict[str, int]
    credentials: AwsCredentials
    link_signing_secret: str = LINK_SIGNING_SECRET

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def banner(self) -> str:
        """What the runtime printed before its "ready" line: by design, it shows the admin token."""
        return ("\n" + self.stdout_path.read_text(errors="replace")).partition(READY_LINE)[0]

    def printed_after_banner(self) -> str:
        """Everything else it printed: stdout after the banner, and all of stderr (every log line)."""
        stdout = "\n" + self.stdout_path.read_text(errors="replace")
        return stdout.partition(READY_LINE)[2] + self.stderr_path.read_text(errors="replace")

    def known_secrets(self) -> dict[str, str]:
        """Every secret the runtime holds, by what it is: tokens, the link key, each review's task token and signatures.

        Read from the reviews table, so call it while the runtime runs.
        """
        known = {"admin token": self.admin_token, "link signing secret": self.link_signing_secret}
        table = self.reviews_table()
        scan: dict[str, Any] = {}
        while True:
            page = table.scan(**scan)
            for item in page["Items"]:
                review_id = item["reviewId"]
                known[f"task token of review {review_id}"] = item["taskToken"]
                for field in ("approvePath", "rejectPath"):
                    for signature in parse_qs(urlsplit(item[field]).query).get("signature", []):
                        known[f"signature in {field} of review {review_id}"] = signature
            if "LastEvaluatedKey" not in page:
                return known
            scan = {"ExclusiveStartKey": page["LastEvaluatedKey"]}

    def assert_printed_no_secret(self, known_secrets: dict[str, str]) -> None:
        """No secret in any log line; the banner may show the admin token (SPEC 6) and nothing else."""
        printed = self.printed_after_banner()
        leaked = sorted(label for label, value in known_secrets.items() if value and value in printed)
        assert not leaked, f"printed after the banner: {leaked}\n{printed[-3000:]}"
        banner = self.banner()
        leaked = sorted(
            label for label, value in known_secrets.items() if value and value in banner and value != self.admin_token
        )
        assert not leaked, f"printed in the banner: {leaked}"
        signatures = re.findall(r"signature=(?!REDACTED)[^&\s\"']+", printed, flags=re.IGNORECASE)
        assert not signatures, f"signature values printed: {signatures[:5]}"

    def boto3_client(self, service: str, **kwargs: Any) -> Any:
        """A client for the runtime's moto server, signing with the credentials its banner printed."""
        import boto3

        kwargs.setdefault("endpoint_url", self.moto_url)
        kwargs.setdefault("aws_access_key_id", self.credentials.access_key_id)
        kwargs.setdefault("aws_secret_access_key", self.credentials.secret_access_key)
        return boto3.client(service, region_name=REGION, **kwargs)

    def interpreter_clock(self) -> dict[str, Any]:
        """The Step Functions clock's state (``offsetSeconds``, ``waiting``), from the signed ``GET /_local/clock``."""
        result = http("GET", f"{self.moto_url}/_local/clock", signed_by=self.credentials, service="states")
        assert result.status == 200, result
        return dict(result.body)

    def advance_clock(self, *arguments: str, signed: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``python -m local_runtime.advance_clock`` against this runtime, as a user would after the banner's export."""
        env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        if signed:
            env["AWS_ACCESS_KEY_ID"] = self.credentials.access_key_id
            env["AWS_SECRET_ACCESS_KEY"] = self.credentials.secret_access_key
        return subprocess.run(
            [sys.executable, "-m", "local_runtime.advance_clock", "--endpoint-url", self.moto_url, *arguments],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def connections_table(self) -> Any:
        return self._table("ConnectionsTableName")

    def reviews_table(self) -> Any:
        return self._table("ReviewsTableName")

    def submissions_table(self) -> Any:
        return self._table("SubmissionsTableName")

    def _table(self, output: str) -> Any:
        import boto3

        from deploy.stack import stack_outputs
        from deploy.template import stack_name

        outputs = stack_outputs(self.boto3_client("cloudformation"), stack_name("local"))
        resource = boto3.resource(
            "dynamodb",
            region_name=REGION,
            endpoint_url=self.moto_url,
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
        )
        return resource.Table(outputs[output])

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        """Send ``sig`` and return the exit status (killing it only if it hangs)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"the runtime did not stop within {timeout}s:\n{self.output()[-3000:]}") from None
        return int(self.process.returncode)


class PortTakenMeanwhile(AssertionError):
    """A port free when it was picked was taken before the runtime bound it (another test worker, say)."""


def start_runtime(directory: Path, *, ports: dict[str, int] | None = None, **extra_env: str) -> RunningRuntime:
    """Start the runtime on free ports (or on ``ports``, to restart one) and wait for its "ready" line and /health.

    Free ports picked here are picked again (twice at most) if one was taken before the runtime bound it.
    """
    if ports is not None:
        return _start_runtime(directory, ports=ports, **extra_env)
    for _attempt in range(2):
        try:
            return _start_runtime(directory, ports=_free_runtime_ports(), **extra_env)
        except PortTakenMeanwhile:
            pass
    return _start_runtime(directory, ports=_free_runtime_ports(), **extra_env)


def _free_runtime_ports() -> dict[str, int]:
    return dict(zip(("PORT", "WS_PORT", "WS_MANAGEMENT_PORT", "AWS_PORT"), free_ports(4), strict=True))


def _start_runtime(directory: Path, *, ports: dict[str, int], **extra_env: str) -> RunningRuntime:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "MOTO_", "WEBHOOK_", "LOCAL_AWS_"))
        and name not in ("SENDER_EMAIL", "EVENT_BUS_NAME")
    }
    env.update({name: str(port) for name, port in ports.items()})
    env.update(
        {
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "LINK_SIGNING_SECRET": LINK_SIGNING_SECRET,
            "PYTHONUNBUFFERED": "1",
            # The outbox in the test's directory, never the checkout's .local/.
            "LOCAL_OUTBOX": str(directory / "outbox"),
            **extra_env,
        }
    )
    directory.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = directory / "stdout.txt", directory / "stderr.txt"
    if forking_enabled():
        stdout_path.write_bytes(b"")
        stderr_path.write_bytes(b"")
        process: subprocess.Popen[bytes] | ForkedRuntimeProcess = fork_runtime(env, ROOT, stdout_path, stderr_path)
    else:
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            process = subprocess.Popen(
                [sys.executable, "-m", "local_runtime"], cwd=ROOT, env=env, stdout=stdout, stderr=stderr
            )

    def ready() -> bool:
        if process.poll() is not None:
            output = f"{stdout_path.read_text(errors='replace')}{stderr_path.read_text(errors='replace')}"
            failure = (
                PortTakenMeanwhile if process.returncode == 2 and "is already in use" in output else AssertionError
            )
            raise failure(f"the runtime exited with {process.returncode}:\n{output}")
        return READY_LINE in "\n" + stdout_path.read_text(errors="replace")

    try:
        wait_for(ready, timeout=STARTUP_TIMEOUT)
        banner = stdout_path.read_text()
        moto = re.search(r"AWS \(moto\) (http://[0-9.:]+)", banner)
        exported = re.search(
            r"export AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) AWS_DEFAULT_REGION=(\S+)", banner
        )
        assert moto and exported and exported.group(3) == REGION, banner
        runtime = RunningRuntime(
            process=process,
            stdout_path=stdout_path,
            stderr_path=stderr_path,
            rest_url=f"http://127.0.0.1:{ports['PORT']}",
            ws_url=f"ws://127.0.0.1:{ports['WS_PORT']}",
            management_url=f"http://127.0.0.1:{ports['WS_MANAGEMENT_PORT']}",
            moto_url=moto.group(1),
            admin_token=env["ADMIN_TOKEN"],
            link_signing_secret=env["LINK_SIGNING_SECRET"],
            ports=ports,
            credentials=AwsCredentials(exported.group(1), exported.group(2)),
        )
        assert runtime.rest_url in banner and runtime.ws_url in banner and ADMIN_TOKEN in banner, banner
        assert http("GET", f"{runtime.rest_url}/health").body == {"status": "ok"}
    except BaseException:
        if process.poll() is None:
            process.kill()
            process.wait()
        raise
    return runtime


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRuntime]:
    """One runtime shared by a module's tests (startup deploys the stack: a few seconds)."""
    raise_open_file_limit()
    running = start_runtime(tmp_path_factory.mktemp("runtime"))
    known_secrets: dict[str, str] = {}
    try:
        yield running
        known_secrets = running.known_secrets()  # while moto still runs
    finally:
        exit_status = running.stop()
    assert exit_status == 0, running.output()[-3000:]  # a clean stop even after the load tests
    running.assert_printed_no_secret(known_secrets)  # whatever the module's tests did, no secret was logged


def submit(runtime: RunningRuntime, title: str) -> str:
    result = http("POST", f"{runtime.rest_url}/submissions", {"title": title})
    assert result.status == 202, result
    return str(result.body["submissionId"])


# A post to a live local socket answers in milliseconds; one that takes this long is waiting on the socket.
STUCK_AFTER_SECONDS = 0.5


class StuckClient:
    """A WebSocket client that completes the handshake, may send frames, and never reads a byte.

    Its receive buffer is as small as the kernel allows and its segments are small, so the
    server's send buffer stays small too: some tens of KB sent to it fill every buffer on the
    way, and from then on the server's sends to it wait, as they would for a frozen browser tab.
    """

    SMALL_SEGMENT = 536  # bytes; loopback's 64 KB segments would let the server buffer megabytes

    def __init__(self, host: str, port: int, path: str = "/") -> None:
        import base64

        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)  # the kernel rounds up to its minimum
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, self.SMALL_SEGMENT)
        self.socket.settimeout(10)
        self.socket.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.socket.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nUser-Agent: stuck-client\r\n\r\n".encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:  # byte by byte: nothing after the handshake is ever read
            chunk = self.socket.recv(1)
            if not chunk:
                break
            response += chunk
        status_line = response.split(b"\r\n", 1)[0]
        if b" 101 " not in status_line:
            self.socket.close()
            raise AssertionError(f"the handshake failed: {status_line!r}")

    def send_text(self, text: str) -> None:
        from websockets.frames import Frame, Opcode

        self.socket.sendall(Frame(Opcode.TEXT, text.encode()).serialize(mask=True))

    def close(self) -> None:
        self.socket.close()


@dataclass
class BlockedPost:
    """A ``post_to_connection`` that is waiting on a stuck socket, running on its own thread."""

    thread: threading.Thread
    started_at: float
    outcome: list[Any]  # the error code it ended with ("GoneException"), once it has

    def wait(self, timeout: float) -> str | None:
        self.thread.join(timeout)
        return None if self.thread.is_alive() else self.outcome[0]


def fill_until_stuck(
    management_url: str, connection_id: str, *, credentials: AwsCredentials, frame_bytes: int = 64 * 1024
) -> BlockedPost:
    """Post big frames to a :class:`StuckClient` until one does not come back: its buffers are full.

    The post that does not come back is left running (the gateway answers it once it drops the
    client); every earlier one was answered at once.
    """
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=management_url,
        region_name=REGION,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        config=Config(read_timeout=30, retries={"total_max_attempts": 1}),
    )
    frame = b"x" * frame_bytes
    for _attempt in range(64):
        outcome: list[Any] = []

        def post(outcome: list[Any] = outcome) -> None:
            try:
                client.post_to_connection(ConnectionId=connection_id, Data=frame)
                outcome.append("OK")
            except ClientError as error:
                outcome.append(error.response["Error"]["Code"])

        thread = threading.Thread(target=post, name="fill-stuck-client", daemon=True)
        started_at = time.monotonic()
        thread.start()
        thread.join(STUCK_AFTER_SECONDS)
        if thread.is_alive():
            return BlockedPost(thread, started_at, outcome)
        assert outcome == ["OK"], f"a post to the stuck client failed before its buffers filled: {outcome}"
    raise AssertionError("64 frames did not fill the stuck client's buffers")
