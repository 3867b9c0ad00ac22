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
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from local_runtime.sigv4 import AwsCredentials
from tests.conftest import wait_for as shared_wait_for

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "local-runtime-test-token"
STARTUP_TIMEOUT = 60.0
REGION = "us-east-1"


def free_port() -> int:
    """A port that was free a moment ago (the runtime binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


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
    """A ``python -m local_runtime`` process and how to reach it."""

    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    rest_url: str
    ws_url: str
    management_url: str
    moto_url: str
    admin_token: str
    credentials: AwsCredentials

    @property
    def admin_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def output(self) -> str:
        return self.stdout_path.read_text(errors="replace") + self.stderr_path.read_text(errors="replace")

    def boto3_client(self, service: str, **kwargs: Any) -> Any:
        """A client for the runtime's moto server, signing with the credentials its banner printed."""
        import boto3

        kwargs.setdefault("endpoint_url", self.moto_url)
        kwargs.setdefault("aws_access_key_id", self.credentials.access_key_id)
        kwargs.setdefault("aws_secret_access_key", self.credentials.secret_access_key)
        return boto3.client(service, region_name=REGION, **kwargs)

    def connections_table(self) -> Any:
        return self._table("ConnectionsTableName")

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


def start_runtime(directory: Path, **extra_env: str) -> RunningRuntime:
    """Start the runtime on free ports and wait for its "ready" line and /health."""
    ports = {"PORT": free_port(), "WS_PORT": free_port(), "WS_MANAGEMENT_PORT": free_port(), "AWS_PORT": free_port()}
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "MOTO_"))}
    env.update({name: str(port) for name, port in ports.items()})
    env.update({"ADMIN_TOKEN": ADMIN_TOKEN, "PYTHONUNBUFFERED": "1", **extra_env})
    directory.mkdir(parents=True, exist_ok=True)
    stdout_path, stderr_path = directory / "stdout.txt", directory / "stderr.txt"
    with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_runtime"], cwd=ROOT, env=env, stdout=stdout, stderr=stderr
        )

    def ready() -> bool:
        if process.poll() is not None:
            raise AssertionError(
                f"the runtime exited with {process.returncode}:\n"
                f"{stdout_path.read_text(errors='replace')}{stderr_path.read_text(errors='replace')}"
            )
        return "\nready\n" in "\n" + stdout_path.read_text(errors="replace")

    try:
        wait_for(ready, timeout=STARTUP_TIMEOUT)
        banner = stdout_path.read_text()
        moto = re.search(r"AWS \(moto\) (http://[0-9.:]+)", banner)
        exported = re.search(r"export AWS_ACCESS_KEY_ID=(\S+) AWS_SECRET_ACCESS_KEY=(\S+) AWS_DEFAULT_REGION=(\S+)", banner)
        assert moto and exported and exported.group(3) == REGION, banner
        runtime = RunningRuntime(
            process=process,
            stdout_path=stdout_path,
            stderr_path=stderr_path,
            rest_url=f"http://127.0.0.1:{ports['PORT']}",
            ws_url=f"ws://127.0.0.1:{ports['WS_PORT']}",
            management_url=f"http://127.0.0.1:{ports['WS_MANAGEMENT_PORT']}",
            moto_url=moto.group(1),
            admin_token=ADMIN_TOKEN,
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
    try:
        yield running
    finally:
        exit_status = running.stop()
    assert exit_status == 0, running.output()[-3000:]  # a clean stop even after the load tests


def submit(runtime: RunningRuntime, title: str) -> str:
    result = http("POST", f"{runtime.rest_url}/submissions", {"title": title})
    assert result.status == 202, result
    return str(result.body["submissionId"])
