"""Patches to moto's Step Functions interpreter: what it costs per execution, not what it does.

All but one are in ``moto_hooks``' speed group; :func:`wait_for_task_tokens_on_the_interpreter_clock`
changes what a task-token wait measures its deadline on, and is in the faithful group.
Each function fixes one thing, is idempotent, and refuses to run on a moto other than the pinned
one (``local_runtime.moto_version``); ``tests/local_runtime/test_moto_patches.py`` checks that each
still reaches the moto code it replaces.
"""

from __future__ import annotations

import functools
import json
import pickle
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from local_runtime.moto_version import require_pinned_moto

# One entry per distinct definition (tests render a few, the runtime one): plenty.
_PROGRAM_CACHE_SIZE = 64
# One entry per distinct JSONPath string in the definitions: a few dozen at most.
_JSONPATH_CACHE_SIZE = 1024


def cache_parsed_programs() -> None:
    """Parse each state machine definition once, not on every StartExecution.

    moto runs the ANTLR parser over the whole definition when the state machine is created and
    again for every execution (``ExecutionWorker._get_evaluation_entrypoint``): a quarter of the
    runtime's CPU per submission. The parsed ``Program`` is a tree of components whose evaluation
    state lives in each execution's ``Environment``, so one tree can serve every execution of the
    same definition. Failed parses are not cached (``lru_cache`` does not keep exceptions).
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

    parse = AmazonStateLanguageParser.__dict__["parse"].__func__
    if getattr(parse, "caches_programs", False):
        return
    cached = functools.lru_cache(maxsize=_PROGRAM_CACHE_SIZE)(parse)
    cached.caches_programs = True  # type: ignore[attr-defined]
    AmazonStateLanguageParser.parse = staticmethod(cached)  # type: ignore[method-assign]


def cache_jsonpath_parsers() -> None:
    """Compile each JSONPath expression once instead of on every evaluation.

    ``jsonpath_ng.parse`` builds a PLY parser each call, and moto's interpreter calls it for
    every ``InputPath``, ``ResultPath``, ``Parameters`` path and Choice variable of every
    state: 17% of the runtime's CPU per submission. Compiled expressions hold no per-call state
    (``find`` and ``update_or_create`` work on the data they are given), so they can be shared.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        parse = module.parse
        if getattr(parse, "caches_expressions", False):
            continue
        cached: Any = functools.lru_cache(maxsize=_JSONPATH_CACHE_SIZE)(parse)
        cached.caches_expressions = True
        module.parse = cached  # type: ignore[attr-defined]


def invoke_app_lambdas_directly() -> None:
    """Let the interpreter's ``lambda:invoke`` tasks call the app's handler without a Lambda API call.

    moto's interpreter serialises each invocation with botocore, routes it through moto's Lambda
    responses and parses the answer back, only to reach the dispatcher that calls the handler in
    this process anyway (about 15% of the CPU per submission). For a function the installed
    ``LambdaDispatcher`` knows, this builds the same ``InvocationResponse`` (``StatusCode``,
    ``ExecutedVersion``, parsed ``Payload`` and ``FunctionError`` for a handler error) directly;
    any other function still goes through moto's Lambda API.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

    invoke = lambda_eval_utils._invoke_lambda_function
    if getattr(invoke, "dispatches_directly", False):
        return

    @functools.wraps(invoke)
    def direct(parameters: dict[str, Any], region: str, state_credentials: Any) -> dict[str, Any]:
        from local_runtime.lambda_dispatch import active_dispatcher

        dispatcher = active_dispatcher()
        outcome = dispatcher.run(parameters["FunctionName"], parameters.get("Payload")) if dispatcher else None
        if outcome is None:
            return invoke(parameters=parameters, region=region, state_credentials=state_credentials)
        payload, function_error = outcome
        response: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST", "Payload": json.loads(payload)}
        if function_error is not None:
            response["FunctionError"] = function_error
        return response

    direct.dispatches_directly = True  # type: ignore[attr-defined]
    lambda_eval_utils._invoke_lambda_function = direct


class _ThreadsNotKept(list):  # type: ignore[type-arg]
    """Stands in for moto's ``TMP_THREADS``: a list every interpreter thread is appended to and never removed from."""

    def append(self, thread: Any) -> None:
        pass


def stop_keeping_every_thread() -> None:
    """Stop moto from holding every interpreter thread it ever started.

    moto appends each thread (and through it the frames and data of its execution) to the
    module-level ``TMP_THREADS`` and never removes one, so a long run's memory only grows. The
    list is read by nothing in moto 5.2.5; each module that appends gets a list that drops them.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.component.program import program
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback
    from moto.stepfunctions.parser.backend import execution_worker

    for module in (program, execute_state, state_task_service_callback, execution_worker):
        if not isinstance(module.TMP_THREADS, _ThreadsNotKept):
            module.TMP_THREADS = _ThreadsNotKept()  # type: ignore[attr-defined]


def run_programs_on_the_execution_thread() -> None:
    """Evaluate a program on its execution's thread instead of a second thread joined by the first.

    ``Program.eval`` starts a worker thread and joins it only to apply the definition's top-level
    ``TimeoutSeconds``. Without one (ours has none) the join waits forever, so the worker is pure
    overhead: a thread per waiting execution. With a top-level timeout moto's own code still runs.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.component.eval_component import EvalComponent
    from moto.stepfunctions.parser.asl.component.program.program import Program

    original = Program.eval
    if getattr(original, "runs_inline", False):
        return

    @functools.wraps(original)
    def eval_inline(self: Any, env: Any) -> None:
        if self.timeout_seconds is not None:
            original(self, env)
            return
        env.next_state_name = self.start_at.start_at_name
        EvalComponent.eval(self, env)

    eval_inline.runs_inline = True  # type: ignore[attr-defined]
    Program.eval = eval_inline  # type: ignore[method-assign]


_inline = threading.local()


class _InlineWhenWaitingForToken:
    """``threading.Thread`` for ``execute_state``: runs the target at ``start()`` inside a callback task.

    ``ExecutionState._evaluate_with_timeout`` runs every task body on a new thread and waits for
    it with the state's timeout. A ``waitForTaskToken`` task already waits for its token with that
    same timeout (``_wait_for_task_token_timeout``), so for those tasks the extra thread only parks
    a second thread per waiting review. Every other task keeps moto's thread and timeout.
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if getattr(_inline, "active", False):
            return super().__new__(cls)
        return threading.Thread(*args, **kwargs)

    def __init__(self, *, target: Any, daemon: bool = True) -> None:
        self._target = target

    def start(self) -> None:
        _inline.active = False  # the task body's own tasks (none in a callback task) get threads again
        self._target()


def wait_for_task_tokens_on_the_execution_thread() -> None:
    """Run a ``waitForTaskToken`` task's body (invoke, then wait for the token) on the execution's thread.

    With :func:`run_programs_on_the_execution_thread`, a waiting execution then holds one thread.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.component.state.exec import execute_state
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.resource import ResourceCondition
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_callback import (
        StateTaskServiceCallback,
    )

    original = StateTaskServiceCallback._evaluate_with_timeout
    if getattr(original, "waits_inline", False):
        return

    @functools.wraps(original)
    def evaluate(self: Any, env: Any) -> None:
        _inline.active = self.resource.condition == ResourceCondition.WaitForTaskToken
        try:
            original(self, env)
        finally:
            _inline.active = False

    evaluate.waits_inline = True  # type: ignore[attr-defined]
    StateTaskServiceCallback._evaluate_with_timeout = evaluate  # type: ignore[method-assign]
    execute_state.Thread = _InlineWhenWaitingForToken  # type: ignore[attr-defined,misc]


# task token -> the CallbackPoolManager of the running execution that waits for it.
_task_token_owners: dict[str, Any] = {}
# id(state machine's executions list) -> [that list, how many are indexed, by name, by ARN].
_execution_indexes: dict[int, list[Any]] = {}
_index_lock = threading.Lock()


def index_task_tokens() -> None:
    """Find the execution waiting for a task token in one lookup, not by asking every running one.

    moto's ``send_task_success`` / ``send_task_failure`` / ``send_task_heartbeat`` walk every
    execution ever started (``_get_executions``) and ask each one's callback pool; with 10,000
    reviews waiting, each approve paid for all of them. Tokens are recorded when moto creates them
    (``CallbackPoolManager.add``) and forgotten when their execution ends, so a token of a finished
    execution is an ``InvalidToken``, as in moto's own scan over running executions. The errors
    raised are moto's own, chosen the way moto chooses them.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager

    add = CallbackPoolManager.add
    if getattr(add, "indexes_tokens", False):
        return

    @functools.wraps(add)
    def add_and_index(self: Any, callback_id: str) -> Any:
        endpoint = add(self, callback_id)
        _task_token_owners[callback_id] = self
        return endpoint

    add_and_index.indexes_tokens = True  # type: ignore[attr-defined]
    CallbackPoolManager.add = add_and_index  # type: ignore[method-assign]

    def indexed_pool(backend: Any, task_token: str) -> Iterator[Any]:
        pool = _task_token_owners.get(task_token)
        if pool is not None:
            yield pool

    _answer_task_tokens(indexed_pool)


def _execution_index(state_machine: Any) -> list[Any]:
    """The state machine's executions by name and by ARN, brought up to date (moto only appends)."""
    executions = state_machine.executions
    with _index_lock:
        index = _execution_indexes.get(id(executions))
        if index is None or index[0] is not executions:
            index = _execution_indexes[id(executions)] = [executions, 0, {}, {}]
        _, indexed, by_name, by_arn = index
        for execution in executions[indexed:]:
            by_name.setdefault(execution.name, execution)
            by_arn.setdefault(execution.execution_arn, execution)
        index[1] = len(executions)
        return index


def index_executions() -> None:
    """Find an execution by name (StartExecution's idempotency check) or ARN in one lookup.

    moto compares the new name with every execution the state machine ever ran, and
    DescribeExecution / StopExecution walk the same list: each submission got slower as the run
    got longer. The answers and errors are moto's own.
    """
    require_pinned_moto()
    from moto.core.utils import utcnow
    from moto.stepfunctions.exceptions import ExecutionAlreadyExists, ExecutionDoesNotExist
    from moto.stepfunctions.models import StateMachine, StepFunctionBackend

    if getattr(StateMachine._handle_name_input_idempotency, "uses_index", False):
        return

    def handle_name_input_idempotency(self: Any, name: str, execution_input: str) -> Any:
        execution = _execution_index(self)[2].get(name)
        if execution is None:
            return None
        if execution_input == execution.execution_input and execution.status == "RUNNING":
            return execution
        raise ExecutionAlreadyExists("Execution Already Exists: '" + execution.execution_arn + "'")

    def find(state_machine: Any, execution_arn: str) -> Any:
        execution = _execution_index(state_machine)[3].get(execution_arn)
        if execution is None:
            raise ExecutionDoesNotExist("Execution Does Not Exist: '" + execution_arn + "'")
        return execution

    def stop_execution(self: Any, execution_arn: str) -> Any:
        execution = find(self, execution_arn)
        execution.stop(stop_date=utcnow(), error="", cause="")
        return execution

    def describe_execution(self: Any, execution_arn: str) -> Any:
        self._validate_execution_arn(execution_arn)
        return find(self._get_state_machine_for_execution(execution_arn), execution_arn)

    handle_name_input_idempotency.uses_index = True  # type: ignore[attr-defined]
    StateMachine._handle_name_input_idempotency = handle_name_input_idempotency  # type: ignore[method-assign]
    StateMachine.stop_execution = stop_execution  # type: ignore[method-assign]
    StepFunctionBackend.describe_execution = describe_execution  # type: ignore[method-assign]


class _FinishedEnvironment:
    """What is left of a finished execution's interpreter ``Environment``: its history, compressed.

    Answers the calls moto still makes on a finished execution's environment: the history,
    callbacks and map runs (none), the final program state, and a stop that changes nothing.
    """

    def __init__(self, env: Any) -> None:
        self._history = zlib.compress(pickle.dumps(env.event_manager.get_event_history()), 1)
        self._program_state = env.program_state()
        self.event_manager = self
        self.callback_pool_manager = self
        self.map_run_record_pool_manager = self

    def get_event_history(self) -> list[dict[str, Any]]:
        history: list[dict[str, Any]] = pickle.loads(zlib.decompress(self._history))
        return history

    def program_state(self) -> Any:
        return self._program_state

    def notify(self, callback_id: str, outcome: Any) -> bool:
        return False

    def heartbeat(self, callback_id: str) -> bool:
        return False

    def get(self, key: str) -> None:
        return None

    def get_all(self) -> list[Any]:
        return []

    def set_stop(self, **details: Any) -> None:
        pass


def release_finished_executions() -> None:
    """Keep a finished execution's record and history, not its interpreter state.

    moto keeps each execution's whole ``Environment`` (frames, context objects, callback pools,
    the parsed input and output of every state) for the life of the process: memory grew with
    every submission. Once the status is reflected, the environment is replaced by its compressed
    history, and its task tokens leave the index.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

    terminated = BaseExecutionWorkerCommunication.terminated
    if getattr(terminated, "releases_state", False):
        return

    @functools.wraps(terminated)
    def terminated_and_released(self: Any) -> None:
        worker = self.execution.exec_worker
        for task_token in list(worker.env.callback_pool_manager._pool):
            _task_token_owners.pop(task_token, None)
        terminated(self)
        worker.env = _FinishedEnvironment(worker.env)

    terminated_and_released.releases_state = True  # type: ignore[attr-defined]
    BaseExecutionWorkerCommunication.terminated = terminated_and_released  # type: ignore[method-assign]


def wait_for_task_tokens_on_the_interpreter_clock() -> None:
    """Measure a ``waitForTaskToken`` task's deadline on the installed ``interpreter_clock``, not on real time.

    moto waits for a token with ``CallbackEndpoint.wait`` (``Event.wait(TimeoutSeconds)``) and
    treats "woken without an outcome" as the task's timeout (``States.Timeout``). The default
    ``SystemClock`` waits exactly so; a ``ManualClock`` (tests) or ``RealTimeClock`` (the local
    runtime) can be advanced past the deadline instead of waiting for it. A notify still sets the
    event and wakes the waiter at once. With :func:`wait_for_task_tokens_on_the_execution_thread`
    this is the only wait of such a task (the state-level timeout thread is not started for it).
    Heartbeat timeouts (none in our definition) still follow real time.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint, CallbackPoolManager

    from local_runtime import interpreter_clock

    original = CallbackEndpoint.wait
    if getattr(original, "uses_interpreter_clock", False):
        return
    add = CallbackPoolManager.add

    @functools.wraps(add)
    def add_with_execution(self: Any, callback_id: str) -> Any:
        endpoint = add(self, callback_id)
        endpoint.execution_pool = self  # which execution waits: its waits form one chain on the clock
        return endpoint

    @functools.wraps(original)
    def wait(self: Any, timeout: float | None = None) -> Any:
        interpreter_clock.active().wait(self._notify_event, timeout, chain=getattr(self, "execution_pool", None))
        return self._outcome

    wait.uses_interpreter_clock = True  # type: ignore[attr-defined]
    CallbackPoolManager.add = add_with_execution  # type: ignore[method-assign]
    CallbackEndpoint.wait = wait  # type: ignore[method-assign]


def refuse_tokens_after_their_timeout() -> None:
    """A token whose task timed out is refused (``TaskTimedOut``), as on AWS, instead of taken silently.

    moto never tells a callback endpoint that its task timed out (``CallbackEndpoint.report`` is
    never called), so a ``SendTaskSuccess`` that arrived after a review's deadline, while the
    execution was still running on (MarkExpired, RecordOutcome, the deliveries), was accepted and
    answered 200 for a decision that never counted (SPEC §19). The timeout is now reported when the
    wait gives up, under the same lock as a notify, so a decision and a timeout never both win.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.asl.eval.callback.callback import (
        CallbackConsumerTimeout,
        CallbackEndpoint,
        CallbackNotifyConsumerError,
    )

    wait, notify = CallbackEndpoint.wait, CallbackEndpoint.notify
    if getattr(notify, "refuses_after_timeout", False):
        return
    # One lock for every endpoint: it is held for a few instructions per notify or timeout.
    lock = threading.Lock()

    @functools.wraps(notify)
    def notify_unless_timed_out(self: Any, outcome: Any) -> None:
        with lock:
            if isinstance(self.consumer_error, CallbackConsumerTimeout):
                raise CallbackNotifyConsumerError(callback_consumer_error=self.consumer_error)
            notify(self, outcome)

    @functools.wraps(wait)
    def wait_then_report_a_timeout(self: Any, timeout: float | None = None) -> Any:
        outcome = wait(self, timeout)
        if outcome is not None or timeout is None:
            return outcome
        with lock:
            if self._outcome is None:
                self.report(CallbackConsumerTimeout())
            return self._outcome

    notify_unless_timed_out.refuses_after_timeout = True  # type: ignore[attr-defined]
    CallbackEndpoint.notify = notify_unless_timed_out  # type: ignore[method-assign]
    CallbackEndpoint.wait = wait_then_report_a_timeout  # type: ignore[method-assign]


def answer_refused_tokens_as_aws_does() -> None:
    """A token whose task has ended, of an execution still running, is TaskTimedOut or TaskDoesNotExist, not a 500.

    moto's own ``send_task_success`` / ``send_task_failure`` / ``send_task_heartbeat`` scan the
    running executions, but build ``TaskTimedOut()`` and ``TaskDoesNotExist()`` without the
    message they require (a TypeError: a 500 to the caller) and test the exception, not its
    consumer error, for a timeout. Since the reminder (SPEC §14) an execution keeps running after
    its first wait timed out, so a decision sent on that wait's token meets this every time; it
    must get TaskTimedOut, as on AWS. The speed group's ``index_task_tokens`` answers the same
    errors from its index, and replaces these methods after this when it is on.
    """
    require_pinned_moto()
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    # Applied already (the class says so even once the speed group has replaced the methods).
    if getattr(StepFunctionsParserBackend, "answers_refused_tokens_as_aws", False):
        return
    StepFunctionsParserBackend.answers_refused_tokens_as_aws = True  # type: ignore[attr-defined]
    if getattr(CallbackPoolManager.add, "indexes_tokens", False):
        return  # the speed group's methods answer these already: keep them

    def running_pools(backend: Any, task_token: str) -> Iterator[Any]:
        for execution in backend._get_executions(ExecutionStatus.RUNNING):
            yield execution.exec_worker.env.callback_pool_manager

    _answer_task_tokens(running_pools)


def _answer_task_tokens(pools_for: Callable[[Any, str], Iterable[Any]]) -> None:
    """Give moto's backend ``send_task_success`` / ``send_task_failure`` / ``send_task_heartbeat`` that answer as AWS does.

    A token goes to the first of ``pools_for(backend, token)`` that takes it, else InvalidToken. A
    consumer that left is refused as AWS refuses it: TaskTimedOut for a task that timed out (see
    refuse_tokens_after_their_timeout), TaskDoesNotExist otherwise. moto's own methods test the
    exception itself (never a CallbackConsumerTimeout) and build these errors without the message
    and type they need: a 500. ``index_task_tokens`` finds the pool in its index,
    ``answer_refused_tokens_as_aws_does`` by asking each running execution, as moto does.
    """
    from moto.stepfunctions.parser.api import InvalidToken, TaskDoesNotExist, TaskTimedOut
    from moto.stepfunctions.parser.asl.eval.callback.callback import (
        CallbackConsumerTimeout,
        CallbackNotifyConsumerError,
        CallbackOutcomeFailure,
        CallbackOutcomeSuccess,
    )
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    def deliver(backend: Any, task_token: str, call: Callable[[Any], bool]) -> None:
        for pool in pools_for(backend, task_token):
            try:
                if call(pool):
                    return
            except CallbackNotifyConsumerError as refused:
                if isinstance(refused.callback_consumer_error, CallbackConsumerTimeout):
                    raise TaskTimedOut("Task Timed Out", "TaskTimedOut", 400) from None
                raise TaskDoesNotExist("Task Does Not Exist", "TaskDoesNotExist", 400) from None
        raise InvalidToken()

    def send_task_success(self: Any, task_token: str, outcome: str) -> None:
        success = CallbackOutcomeSuccess(callback_id=task_token, output=outcome)
        deliver(self, task_token, lambda pool: pool.notify(callback_id=task_token, outcome=success))

    def send_task_failure(self: Any, task_token: str, error: Any = None, cause: Any = None) -> Any:
        from moto.stepfunctions.parser.api import SendTaskFailureOutput

        failure = CallbackOutcomeFailure(callback_id=task_token, error=error, cause=cause)
        deliver(self, task_token, lambda pool: pool.notify(callback_id=task_token, outcome=failure))
        return SendTaskFailureOutput()

    def send_task_heartbeat(self: Any, task_token: str) -> None:
        deliver(self, task_token, lambda pool: pool.heartbeat(callback_id=task_token))

    StepFunctionsParserBackend.send_task_success = send_task_success  # type: ignore[assignment,method-assign]
    StepFunctionsParserBackend.send_task_failure = send_task_failure  # type: ignore[assignment,method-assign]
    StepFunctionsParserBackend.send_task_heartbeat = send_task_heartbeat  # type: ignore[assignment,method-assign]
