"""The patches moto runs our stack with, in two groups, and the calls that apply them.

The faithful group changes what moto does, so that it behaves as AWS does for this stack (the
state machine runnable from CloudFormation, atomic conditional writes, task-token deadlines on
the interpreter clock, a timed-out task refusing its token, Comprehend's DetectToxicContent). The speed group only makes moto cheaper (caches, indexes, fewer threads
and copies, released state): with it off, everything observable is the same, only slower, and
``make test-faithful`` runs the suite that way (``LOCAL_RUNTIME_SPEED_PATCHES=off``).
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Mapping
from typing import Any

_DYNAMODB_WRITE_METHODS = ("put_item", "update_item", "delete_item", "transact_write_items")
_dynamodb_write_lock = threading.RLock()
_dynamodb_writes_serialized = False
# ``off`` leaves the speed group out (install_moto_patches); ``on`` (the default) applies it.
SPEED_PATCHES_VARIABLE = "LOCAL_RUNTIME_SPEED_PATCHES"


def install_moto_patches(environ: Mapping[str, str] = os.environ) -> None:
    """Apply the faithful patches and, unless ``LOCAL_RUNTIME_SPEED_PATCHES=off``, the speed patches. Idempotent.

    What the runtime, the tests and the benchmarks run moto with. Raises ``MotoVersionError``
    first if moto is not the pinned version, and ``ValueError`` for a switch neither on nor off.
    A patch, once applied, stays for the life of the process: the switch is read here, by each
    process (a runtime started from a test inherits the test's environment).
    """
    speed = speed_patches_enabled(environ)
    install_faithful_patches()
    if speed:
        install_speed_patches()


def speed_patches_enabled(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``LOCAL_RUNTIME_SPEED_PATCHES`` asks for the speed group: on unless it says off; ValueError otherwise."""
    value = environ.get(SPEED_PATCHES_VARIABLE, "on").strip().lower()
    if value in ("on", "1", "yes", "true", ""):
        return True
    if value in ("off", "0", "no", "false"):
        return False
    raise ValueError(f"{SPEED_PATCHES_VARIABLE}={value!r}: use on or off")


def install_faithful_patches() -> None:
    """Apply the patches that change what moto does, so that it runs our stack as AWS does. Idempotent.

    Raises ``MotoVersionError`` first if moto is not the pinned version: the patches reach
    into moto's internals, and a silent mismatch would make the emulator wrong, not slow.
    (Routing Lambda to the app's functions, IAM enforcement and the outbox are installed by
    whoever runs the stack: ``lambda_dispatch``, ``iam_enforcement``, ``outbox``.)
    """
    from local_runtime.comprehend import answer_detect_toxic_content
    from local_runtime.moto_version import require_pinned_moto
    from local_runtime.stepfunctions_patches import (
        refuse_tokens_after_their_timeout,
        wait_for_task_tokens_on_the_interpreter_clock,
    )

    require_pinned_moto()
    route_cloudformation_state_machines_to_interpreter()
    serialize_dynamodb_writes()
    serialize_dynamodb_requests()
    wait_for_task_tokens_on_the_interpreter_clock()
    refuse_tokens_after_their_timeout()  # wraps the wait above: after it
    answer_detect_toxic_content()


def install_speed_patches() -> None:
    """Apply the patches that only make moto cheaper (CPU, memory, threads); none changes an answer. Idempotent.

    Raises ``MotoVersionError`` first if moto is not the pinned version.
    """
    from local_runtime.botocore_patches import share_loaded_botocore_data
    from local_runtime.cheap_copies import copy_plain_data_cheaply
    from local_runtime.cloudformation_patches import parse_json_templates_as_json
    from local_runtime.dynamodb_patches import (
        answer_item_operations_as_json,
        parse_each_update_expression_once,
        query_gsi_members,
        reuse_parsed_conditions,
    )
    from local_runtime.iam_enforcement import parse_each_policy_once, trust_signatures_checked_before_moto
    from local_runtime.kms_patches import generate_kms_keys_on_first_use
    from local_runtime.moto_version import require_pinned_moto
    from local_runtime.stepfunctions_patches import (
        cache_jsonpath_parsers,
        cache_parsed_programs,
        index_executions,
        index_task_tokens,
        invoke_app_lambdas_directly,
        release_finished_executions,
        run_programs_on_the_execution_thread,
        stop_keeping_every_thread,
        wait_for_task_tokens_on_the_execution_thread,
    )

    require_pinned_moto()
    reuse_interpreter_clients()
    cache_parsed_programs()
    cache_jsonpath_parsers()
    invoke_app_lambdas_directly()
    stop_keeping_every_thread()
    run_programs_on_the_execution_thread()
    wait_for_task_tokens_on_the_execution_thread()
    index_task_tokens()
    index_executions()
    release_finished_executions()
    query_gsi_members()
    parse_each_update_expression_once()
    reuse_parsed_conditions()
    answer_item_operations_as_json()
    copy_plain_data_cheaply()
    cache_response_method_names()
    parse_each_policy_once()
    trust_signatures_checked_before_moto()
    share_loaded_botocore_data()
    parse_json_templates_as_json()
    generate_kms_keys_on_first_use()


def route_cloudformation_state_machines_to_interpreter() -> None:
    """Make CloudFormation-created state machines executable.

    moto's CloudFormation registers ``AWS::StepFunctions::StateMachine`` in the plain Step
    Functions backend, while with ``execute_state_machine`` the API serves the interpreter's
    backend, so the stack's state machine would be invisible to StartExecution. The
    interpreter's backend is a subclass of the plain one, so CloudFormation can use it directly.
    """
    import moto.stepfunctions.models as plain_models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    plain_models.stepfunctions_backends = stepfunctions_parser_backends


def quiet_moto_server_logs() -> None:
    """Keep moto's server from printing a werkzeug access line for every internal AWS call.

    One submission makes dozens of calls (DynamoDB, Step Functions, the interpreter's
    Lambda invokes); logged at INFO they would bury the app's own output. Warnings and
    errors still show.
    """
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def serialize_dynamodb_writes() -> None:
    """Give moto's DynamoDB the guarantee our decisions rely on: a conditional write is atomic.

    moto checks a ``ConditionExpression`` and applies the write in two unlocked steps, so two
    threads can both pass the check, which real DynamoDB never allows. The local runtime and
    the tests are threaded, so without this an approve racing a reject could both "win".
    Idempotent.
    """
    global _dynamodb_writes_serialized
    if _dynamodb_writes_serialized:
        return
    from moto.dynamodb.models import DynamoDBBackend

    for name in _DYNAMODB_WRITE_METHODS:
        setattr(DynamoDBBackend, name, _under_write_lock(getattr(DynamoDBBackend, name)))
    _dynamodb_writes_serialized = True


def serialize_dynamodb_requests() -> None:
    """Handle one DynamoDB request at a time, reads included, as one consistent table would.

    moto updates an item's attributes in place and serialises a read's answer after the backend
    call returns, outside any lock: a GetItem racing an UpdateItem on the same item failed with
    "dictionary changed size during iteration" (a 500 the app then saw). Holding the write lock
    (re-entrant, so the writes inside still take it) around the whole request removes the race;
    requests are CPU-bound under one GIL anyway. Idempotent.
    """
    from local_runtime.moto_version import require_pinned_moto

    require_pinned_moto()
    from moto.dynamodb.responses import DynamoHandler

    if getattr(DynamoHandler.call_action, "serialized", False):
        return
    locked = _under_write_lock(DynamoHandler.call_action)
    locked.serialized = True
    DynamoHandler.call_action = locked


def _under_write_lock(method: Any) -> Any:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _dynamodb_write_lock:
            return method(*args, **kwargs)

    locked.under_write_lock = True  # type: ignore[attr-defined]
    return locked


# moto's interpreter modules that build a client per task with ``boto_client_for``: Lambda,
# the direct integrations, and the AWS SDK integrations (each imported the function by name).
INTERPRETER_CLIENT_MODULES = (
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.lambda_eval_utils",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_events",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sqs",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sns",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_dynamodb",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn",
    "moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_aws_sdk",
)


def reuse_interpreter_clients() -> None:
    """Let moto's Step Functions interpreter reuse one boto3 client per region and service.

    It builds a new boto3 client for every task that calls AWS (Lambda, and the direct
    ``events:putEvents`` integration of every outcome), and building one copies botocore's
    event hooks and loads the service model: about 15% of the local runtime's CPU per
    submission each. boto3 clients are thread-safe, and moto 5.2.5's ``boto_client_for``
    ignores ``state_credentials`` (every client uses its fixed interpreter key), so one client
    per (region, service, endpoint) serves every execution. Idempotent.
    """
    import importlib

    from local_runtime.moto_version import require_pinned_moto

    require_pinned_moto()
    from moto.stepfunctions.parser.asl.utils import boto_client

    build = boto_client.boto_client_for
    cache: dict[tuple[Any, ...], Any] = {}
    lock = threading.Lock()

    @functools.wraps(build)
    def cached(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber
        from moto.settings import moto_server_port

        # The endpoint depends on whether moto intercepts in-process or serves over HTTP.
        key = (region, service, botocore_stubber.enabled, moto_server_port())
        with lock:
            if key not in cache:
                cache[key] = build(region=region, service=service, state_credentials=state_credentials)
            return cache[key]

    cached.reuses_clients = True  # type: ignore[attr-defined]
    for name in INTERPRETER_CLIENT_MODULES:
        module = importlib.import_module(name)
        if not getattr(module.boto_client_for, "reuses_clients", False):
            module.boto_client_for = cached


def cache_response_method_names() -> None:
    """List each moto response class's methods once, not on every request.

    ``BaseResponse.call_action`` runs ``inspect.getmembers`` over the whole response class on
    every AWS call only to check that the action has a method (a third of a millisecond per call,
    several calls per submission). Response classes do not gain or lose methods at run time, so
    the answer is kept per class. Idempotent.
    """
    from local_runtime.moto_version import require_pinned_moto

    require_pinned_moto()
    from moto.core import responses

    listed = responses.method_names_from_class
    if getattr(listed, "cached_per_class", False):
        return
    cached: Any = functools.lru_cache(maxsize=None)(lambda clazz: frozenset(listed(clazz)))
    cached.cached_per_class = True
    responses.method_names_from_class = cached
