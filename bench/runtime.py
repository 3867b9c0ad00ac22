"""Shared helpers: start `python -m local_runtime` as a subprocess and talk to it over HTTP (loopback only)."""

from __future__ import annotations

import http.client
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from local_runtime.harness import free_ports, wait_until

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
ADMIN_TOKEN = "bench-admin-token"
REVIEW_TIMEOUT_SECONDS = 3600
READY_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 20.0
HTTP_TIMEOUT_SECONDS = 30.0


def runtime_environ(rest_port: int, ws_port: int, management_port: int, aws_port: int = 0) -> dict[str, str]:
    """The environment for one local runtime: our ports, token and timeout, quiet logs, no real AWS."""
    environ = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("AWS_") and name not in ("MOTO_PORT", "PYTHONSTARTUP")
    }
    environ.update(
        {
            "HOST": HOST,
            "PORT": str(rest_port),
            "WS_PORT": str(ws_port),
            "WS_MANAGEMENT_PORT": str(management_port),
            "AWS_PORT": str(aws_port),
            "ADMIN_TOKEN": ADMIN_TOKEN,
            "LINK_SIGNING_SECRET": "bench-link-secret",
            "MODERATION_WORDS": "forbidden",
            "REVIEW_TIMEOUT_SECONDS": str(REVIEW_TIMEOUT_SECONDS),
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return environ


class RuntimeProcess:
    """One `python -m local_runtime` subprocess on free loopback ports; use as a context manager.

    ``settings`` are extra environment variables for it (e.g. ``{"RISK_CHECK": "off"}``), applied last.
    """

    def __init__(self, settings: Mapping[str, str] | None = None) -> None:
        self.rest_port, self.ws_port, self.management_port = free_ports(3)
        self.settings = dict(settings or {})
        self.process: subprocess.Popen[str] | None = None
        self.started_at = 0.0
        self._stderr: IO[str] = tempfile.TemporaryFile(mode="w+", prefix="bench-runtime-")
        self._ready = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError("not started")
        return self.process.pid

    @property
    def ws_url(self) -> str:
        return f"ws://{HOST}:{self.ws_port}"

    def spawn(self) -> None:
        """Start the subprocess without waiting for it (``started_at`` is taken just before)."""
        environ = runtime_environ(self.rest_port, self.ws_port, self.management_port)
        environ.update(self.settings)
        self.started_at = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "local_runtime"],
            cwd=ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._reader = threading.Thread(target=self._read_stdout, name="bench-runtime-stdout", daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:  # drained to the end, so the pipe never fills up
            if line.strip() == "ready":
                self._ready.set()

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Block until the runtime printed its "ready" line; raise (with its stderr) if it died or stalled."""
        deadline = time.monotonic() + timeout
        while not self._ready.wait(0.05):
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"local runtime exited with {self.process.returncode}: {self.stderr_tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"local runtime not ready within {timeout}s: {self.stderr_tail()}")

    def start(self) -> RuntimeProcess:
        self.spawn()
        self.wait_ready()
        return self

    def stop(self) -> int | None:
        """SIGINT (the runtime's own clean stop), then SIGKILL if it hangs; returns the exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if self._reader is not None:
            self._reader.join(timeout=5)
        self._stderr.close()
        return process.returncode

    def stderr_tail(self, characters: int = 2000) -> str:
        try:
            self._stderr.flush()
            self._stderr.seek(0)
            return self._stderr.read()[-characters:]
        except ValueError:  # already closed
            return ""

    def ensure_alive(self) -> None:
        """Raise with the runtime's stderr if it has exited."""
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"local runtime exited with {self.process.returncode}: {self.stderr_tail()}")

    def proc_status(self) -> dict[str, str]:
        """/proc/<pid>/status of the runtime, as a dict (VmRSS, VmHWM, Threads, ...)."""
        text = Path(f"/proc/{self.pid}/status").read_text()
        return {key: value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())}

    def cpu_seconds(self) -> float:
        """User + system CPU time the runtime process has used so far (/proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def client(self) -> ApiClient:
        return ApiClient(HOST, self.rest_port)

    def __enter__(self) -> RuntimeProcess:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ApiClient:
    """A keep-alive HTTP/1.1 client for the REST API; one per thread (http.client is not thread-safe)."""

    def __init__(self, host: str, port: int) -> None:
        self._host = host
        self._port = port
        self._connection: http.client.HTTPConnection | None = None

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(self._host, self._port, timeout=HTTP_TIMEOUT_SECONDS)
        return self._connection

    def send(self, method: str, path: str, body: Any = None, *, admin: bool = False) -> None:
        """Send a request without reading the reply (pair with :meth:`receive`)."""
        headers = {"Content-Type": "application/json"}
        if admin:
            headers["Authorization"] = f"Bearer {ADMIN_TOKEN}"
        payload = None if body is None else json.dumps(body)
        connection = self._connect()
        try:
            connection.request(method, path, body=payload, headers=headers)
        except (ConnectionError, http.client.HTTPException):  # the server closed an idle keep-alive
            self.close()
            self._connect().request(method, path, body=payload, headers=headers)

    def receive(self) -> tuple[int, Any]:
        assert self._connection is not None
        response = self._connection.getresponse()
        raw = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return response.status, json.loads(raw) if raw else None

    def call(self, method: str, path: str, body: Any = None, *, admin: bool = False) -> tuple[int, Any]:
        """One request and its reply; a GET that meets a closed keep-alive connection is retried once."""
        self.send(method, path, body, admin=admin)
        try:
            return self.receive()
        except ConnectionError:  # includes RemoteDisconnected
            self.close()
            if method != "GET":
                raise
        self.send(method, path, body, admin=admin)
        return self.receive()

    def submit(self, title: str) -> str:
        status, body = self.call("POST", "/submissions", {"title": title})
        if status != 202:
            raise RuntimeError(f"POST /submissions answered {status}: {body}")
        return str(body["submissionId"])

    def status_of(self, submission_id: str) -> str:
        status, body = self.call("GET", f"/submissions/{submission_id}")
        if status != 200:
            raise RuntimeError(f"GET /submissions/{submission_id} answered {status}: {body}")
        return str(body["status"])

    def pending_reviews(self, *, page_size: int = 100, max_pages: int = 1000) -> list[dict[str, Any]]:
        """Every pending review, oldest first (follows nextToken, bounded)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        for _ in range(max_pages):
            path = f"/reviews?status=pending&limit={page_size}&order=oldest"
            if token:
                path += f"&nextToken={token}"
            status, body = self.call("GET", path, admin=True)
            if status != 200:
                raise RuntimeError(f"GET /reviews answered {status}: {body}")
            items.extend(body["items"])
            token = body.get("nextToken")
            if not token:
                break
        return items

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def submit_all(runtime: RuntimeProcess, titles: list[str], concurrency: int) -> list[str]:
    """POST every title with ``concurrency`` keep-alive clients; returns the submission ids in order."""
    local = threading.local()
    clients: list[ApiClient] = []
    lock = threading.Lock()

    def submit(title: str) -> str:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = runtime.client()
            with lock:
                clients.append(client)
        return client.submit(title)

    try:
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="bench-submit") as pool:
            return list(pool.map(submit, titles))
    except OSError:
        runtime.ensure_alive()
        raise
    finally:
        for client in clients:
            client.close()


def wait_for_pending(client: ApiClient, submission_ids: Iterable[str], *, timeout: float) -> dict[str, str]:
    """Wait until every submission has a pending review; returns submissionId -> reviewId (possibly partial)."""
    wanted = set(submission_ids)
    found: dict[str, str] = {}

    def all_pending() -> bool:
        for item in client.pending_reviews():
            if item["submissionId"] in wanted:
                found[item["submissionId"]] = item["reviewId"]
        return len(found) == len(wanted)

    wait_until(all_pending, timeout=timeout, interval=0.25)
    return found


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def submit_until(
    runtime: RuntimeProcess, title: Callable[[int], str], *, concurrency: int, count: int, seconds: float
) -> list[str]:
    """POST titles with ``concurrency`` keep-alive clients until ``count`` are accepted or ``seconds`` pass."""
    lock = threading.Lock()
    accepted: list[str] = []
    errors: list[BaseException] = []
    next_index = 0
    deadline = time.perf_counter() + seconds

    def submitter() -> None:
        nonlocal next_index
        client = runtime.client()
        try:
            while time.perf_counter() < deadline:
                with lock:
                    if next_index >= count:
                        return
                    index = next_index
                    next_index += 1
                submission_id = client.submit(title(index))
                with lock:
                    accepted.append(submission_id)
        except BaseException as error:  # re-raised below, in the caller's thread
            errors.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=submitter, name=f"bench-submit-{n}") for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + HTTP_TIMEOUT_SECONDS + 5)
    if errors:
        runtime.ensure_alive()
        raise errors[0]
    return accepted
