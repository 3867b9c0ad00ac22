"""Route moto's Lambda invocations to the Chalice app's own ``@app.lambda_function`` handlers.

moto's Step Functions interpreter invokes Lambda through its simple (no-Docker) backend, which
normally echoes the payload. :func:`install` swaps that backend's ``invoke`` for one that calls
the real handler in-process, so tests and ``make run`` execute the real application code.
"""

from __future__ import annotations

import json
import logging
import threading
import traceback
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], Any]
_INVOCATIONS_KEPT = 10_000


class LocalLambdaContext:
    """The parts of Lambda's context object our handlers may read."""

    def __init__(self, function_name: str, timeout_seconds: int = 60) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.aws_request_id = str(uuid.uuid4())
        self.memory_limit_in_mb = 128
        self.invoked_function_arn = function_name
        self._timeout_ms = timeout_seconds * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


class LambdaDispatcher:
    """Maps a function name or ARN to a handler and runs it like Lambda would."""

    def __init__(self, handlers: dict[str, Handler]) -> None:
        self._handlers = handlers
        # The latest invocations, for tests and benchmarks; bounded so a long run's memory stays flat.
        self.invocations: deque[str] = deque(maxlen=_INVOCATIONS_KEPT)
        self._lock = threading.Lock()

    @classmethod
    def for_chalice_app(cls, chalice_app: Any) -> LambdaDispatcher:
        """Every pure Lambda function of the app, under its Chalice name (e.g. ``check_content``).

        Each is called as Lambda calls it, through its handler string (``app.check_content``): that
        is the handler with the app's middleware around it; the registered function is the bare one.
        """
        return cls(
            {function.name: _entry_point(chalice_app, function) for function in chalice_app.pure_lambda_functions}
        )

    def resolve(self, function_name: str) -> Handler | None:
        """Accept a bare name, ``content-moderation-{stage}-{name}``, or a full ARN (with qualifier)."""
        name = function_name.split(":function:")[-1].split(":")[0]
        if name in self._handlers:
            return self._handlers[name]
        for known, handler in self._handlers.items():
            if name.endswith("-" + known):
                return handler
        return None

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes | None:
        """moto's Lambda ``invoke``: the payload's bytes, with the function error (if any) in ``response_headers``."""
        outcome = self.run(function_name, body)
        if outcome is None:
            return None  # moto answers 404 ResourceNotFound, as Lambda would
        payload, function_error = outcome
        if function_error is not None:
            response_headers["x-amz-function-error"] = function_error
        return payload

    def run(self, function_name: str, body: Any) -> tuple[bytes, str | None] | None:
        """Run the handler for ``function_name`` on a JSON ``body``: (payload bytes, function error or None).

        None when no handler has that name. A handler that raises is reported the way Lambda
        reports it: an ``Unhandled`` function error whose payload names the exception.
        """
        handler = self.resolve(function_name)
        if handler is None:
            return None
        with self._lock:
            self.invocations.append(function_name)
        event = json.loads(body) if body else {}
        try:
            result = handler(event, LocalLambdaContext(function_name))
        except Exception as error:  # Lambda reports a handler error as an "Unhandled" function error
            logger.warning("lambda %s raised %s", function_name, error)
            payload = json.dumps(
                {
                    "errorType": type(error).__name__,
                    "errorMessage": str(error),
                    "stackTrace": traceback.format_exception(error)[-3:],
                }
            ).encode()
            return payload, "Unhandled"
        return json.dumps(result).encode(), None


def active_dispatcher() -> LambdaDispatcher | None:
    """The dispatcher moto's Lambda invocations go to right now, if one is installed."""
    return _installed


_installed: LambdaDispatcher | None = None
_original_invoke: Any = None


def install(dispatcher: LambdaDispatcher) -> None:
    """Patch moto's simple Lambda backend so every invoke reaches ``dispatcher``."""
    global _installed, _original_invoke
    from moto.awslambda_simple.models import LambdaSimpleBackend

    if _original_invoke is None:
        _original_invoke = LambdaSimpleBackend.invoke

    def invoke(
        backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, response_headers: Any
    ) -> bytes | None:
        active = _installed
        if active is None:
            return _original_invoke(backend, function_name, qualifier, body, headers, response_headers)
        return active.invoke(function_name, body, response_headers)

    LambdaSimpleBackend.invoke = invoke
    _installed = dispatcher


def uninstall() -> None:
    global _installed
    _installed = None


@contextmanager
def dispatching(dispatcher: LambdaDispatcher) -> Iterator[LambdaDispatcher]:
    install(dispatcher)
    try:
        yield dispatcher
    finally:
        uninstall()


def _entry_point(chalice_app: Any, function: Any) -> Handler:
    """What Lambda runs for ``function``'s handler string, when that names this app's module; else the function."""
    import sys

    module_name, _, attribute = function.handler_string.rpartition(".")
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "app", None) is not chalice_app:
        return function
    return getattr(module, attribute, function)
