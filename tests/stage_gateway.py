"""Chalice's local gateway as API Gateway answers through a stage URL (``https://…/api/…``), for tests.

Chalice's local server and test client serve the app at ``/`` with no stage in the request context;
API Gateway serves it under ``/{stage}`` and names the stage (and the full path) in the context.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.config import Config
from chalice.local import ChaliceRequestHandler, LambdaEventConverter, LocalGateway, RouteMatcher


class StageEventConverter(LambdaEventConverter):
    """Builds the event API Gateway sends for a request through stage ``stage``'s URL.

    A path outside ``/{stage}`` raises ValueError, which the local gateway answers 403 (API
    Gateway's "Missing Authentication Token" for an unknown path).
    """

    def __init__(self, app: Any, stage: str) -> None:
        super().__init__(RouteMatcher(list(app.routes)), app.api.binary_types)
        self._stage = stage

    def create_lambda_event(
        self, method: str, path: str, headers: dict[str, str], body: bytes | None = None
    ) -> dict[str, Any]:
        prefix = f"/{self._stage}"
        full_path, _, query = path.partition("?")
        if full_path != prefix and not full_path.startswith(prefix + "/"):
            raise ValueError(f"{path!r} is outside stage {self._stage!r}")
        route_path = full_path.removeprefix(prefix) or "/"
        event = super().create_lambda_event(method, route_path + (f"?{query}" if query else ""), headers, body)
        event["requestContext"].update({"stage": self._stage, "path": full_path})
        return event


def stage_gateway(app: Any, stage: str) -> LocalGateway:
    """Chalice's local gateway for ``app``, answering only under ``/{stage}`` as that stage's URL does."""
    gateway = LocalGateway(app, Config.create(chalice_stage="pytest"))
    gateway.event_converter = StageEventConverter(app, stage)
    return gateway


@contextmanager
def serving_under_stage(app: Any, stage: str) -> Iterator[str]:
    """An HTTP server on a free loopback port answering as API Gateway's stage URL does; yields ``http://…/{stage}``."""
    from http.server import ThreadingHTTPServer

    from local_runtime.rest_server import make_request_local

    class BurstTolerantHTTPServer(ThreadingHTTPServer):
        """A browser opens several connections at once: a listen backlog that takes them, a thread each."""

        request_queue_size = 128
        daemon_threads = True

    make_request_local(app)  # a browser sends requests in parallel: each thread its own current_request

    gateway = stage_gateway(app, stage)

    class StageRequestHandler(ChaliceRequestHandler):
        def __init__(self, request: Any, client_address: Any, server: Any) -> None:
            # ChaliceRequestHandler.__init__ would build a stage-less gateway; the base class then serves.
            self.local_gateway = gateway
            BaseHTTPRequestHandler.__init__(self, request, client_address, server)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = BurstTolerantHTTPServer(("127.0.0.1", 0), StageRequestHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{stage}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
