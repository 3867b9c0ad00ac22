"""Each moto patch still reaches the moto code it replaces: these fail when moto changes underneath.

The patches come in two groups (``local_runtime.moto_hooks``): the tests of a speed patch are
marked ``speed_patches`` and left out of ``make test-faithful``, which runs with that group off;
the tests of the faithful patches and of the grouping itself run in both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import ROOT, submit, wait_for, wait_for_status

speed_patch = pytest.mark.speed_patches


def _module(name: str) -> Any:
    import importlib

    return importlib.import_module(name)


def _marked(owner: str, attribute: str, marker: str) -> Callable[[], bool]:
    """A probe: the attribute of a moto module or class (``module:Class.attribute``) carries the patch's marker."""

    def probe() -> bool:
        module_name, _, path = owner.partition(":")
        target: Any = _module(module_name)
        for part in [*path.split("."), attribute] if path else [attribute]:
            target = getattr(target, part, None)  # a method the patch adds is absent without it
        return bool(getattr(target, marker, False))

    return probe


def _cloudformation_routed() -> bool:
    from moto.stepfunctions import models
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    return models.stepfunctions_backends is stepfunctions_parser_backends


def _threads_not_kept() -> bool:
    from local_runtime.stepfunctions_patches import _ThreadsNotKept

    return isinstance(_module("moto.stepfunctions.parser.asl.component.program.program").TMP_THREADS, _ThreadsNotKept)


_SFN = "moto.stepfunctions.parser"
# How to tell, from moto itself, whether each patch is applied: each group's names, probed.
FAITHFUL_PATCHES: dict[str, Callable[[], bool]] = {
    "route_cloudformation_state_machines_to_interpreter": _cloudformation_routed,
    "serialize_dynamodb_writes": _marked("moto.dynamodb.models:DynamoDBBackend", "delete_item", "under_write_lock"),
    "serialize_dynamodb_requests": _marked("moto.dynamodb.responses:DynamoHandler", "call_action", "serialized"),
    "wait_for_task_tokens_on_the_interpreter_clock": _marked(
        f"{_SFN}.asl.eval.callback.callback:CallbackEndpoint", "wait", "uses_interpreter_clock"
    ),
    "refuse_tokens_after_their_timeout": _marked(
        f"{_SFN}.asl.eval.callback.callback:CallbackEndpoint", "notify", "refuses_after_timeout"
    ),
    "answer_detect_toxic_content": _marked(
        "moto.comprehend.responses:ComprehendResponse", "detect_toxic_content", "answers_locally"
    ),
}
SPEED_PATCHES: dict[str, Callable[[], bool]] = {
    "reuse_interpreter_clients": _marked(
        f"{_SFN}.asl.component.state.exec.state_task.lambda_eval_utils", "boto_client_for", "reuses_clients"
    ),
    "cache_parsed_programs": _marked(
        f"{_SFN}.asl.parse.asl_parser:AmazonStateLanguageParser", "parse", "caches_programs"
    ),
    "cache_jsonpath_parsers": _marked(f"{_SFN}.asl.utils.json_path", "parse", "caches_expressions"),
    "invoke_app_lambdas_directly": _marked(
        f"{_SFN}.asl.component.state.exec.state_task.lambda_eval_utils",
        "_invoke_lambda_function",
        "dispatches_directly",
    ),
    "stop_keeping_every_thread": _threads_not_kept,
    "run_programs_on_the_execution_thread": _marked(
        f"{_SFN}.asl.component.program.program:Program", "eval", "runs_inline"
    ),
    "wait_for_task_tokens_on_the_execution_thread": _marked(
        f"{_SFN}.asl.component.state.exec.state_task.service.state_task_service_callback:StateTaskServiceCallback",
        "_evaluate_with_timeout",
        "waits_inline",
    ),
    "index_task_tokens": _marked(f"{_SFN}.asl.eval.callback.callback:CallbackPoolManager", "add", "indexes_tokens"),
    "index_executions": _marked(
        "moto.stepfunctions.models:StateMachine", "_handle_name_input_idempotency", "uses_index"
    ),
    "release_finished_executions": _marked(
        f"{_SFN}.backend.execution:BaseExecutionWorkerCommunication", "terminated", "releases_state"
    ),
    "query_gsi_members": _marked("moto.dynamodb.models.table:Table", "query", "reads_index_members"),
    "parse_each_update_expression_once": _marked(
        "moto.dynamodb.parsing.expressions:UpdateExpressionParser", "make", "caches_trees"
    ),
    "reuse_parsed_conditions": _marked(
        "moto.dynamodb.comparisons:ConditionExpressionParser", "parse", "reuses_conditions"
    ),
    "answer_item_operations_as_json": _marked("moto.dynamodb.responses:DynamoHandler", "serialized", "answers_as_json"),
    "copy_plain_data_cheaply": _marked(f"{_SFN}.asl.eval.states", "copy", "copies_cheaply"),
    "cache_response_method_names": _marked("moto.core.responses", "method_names_from_class", "cached_per_class"),
    "parse_each_policy_once": _marked("moto.iam.access_control", "json", "caches_policies"),
    "trust_signatures_checked_before_moto": _marked(
        "moto.iam.access_control:IAMRequestBase", "check_signature", "trusts_earlier_check"
    ),
    "share_loaded_botocore_data": _marked("botocore.loaders:Loader", "load_service_model", "shared_between_loaders"),
    "parse_json_templates_as_json": _marked("moto.cloudformation.models:Stack", "parse_template", "reads_json_as_json"),
    "generate_kms_keys_on_first_use": _marked("moto.kms.models", "generate_private_key", "generates_on_first_use"),
}


def applied_patches() -> list[str]:
    """The names of the patches applied in this process, sorted."""
    return sorted(name for name, probe in {**FAITHFUL_PATCHES, **SPEED_PATCHES}.items() if probe())


def _applied_in_a_new_process(install: str, switch: str) -> list[str]:
    """Run ``moto_hooks.<install>()`` in a fresh interpreter with the switch set; the patches applied there."""
    code = (
        "import json, sys\n"
        "from local_runtime import moto_hooks\n"
        "getattr(moto_hooks, sys.argv[1])()\n"
        "from tests.local_runtime.test_moto_patches import applied_patches\n"
        "print(json.dumps(applied_patches()))\n"
    )
    env = {**os.environ, "LOCAL_RUNTIME_SPEED_PATCHES": switch}
    completed = subprocess.run(
        [sys.executable, "-c", code, install], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr
    applied: list[str] = json.loads(completed.stdout.splitlines()[-1])
    return applied


@pytest.mark.parametrize(
    ("install", "switch", "expected"),
    [
        ("install_faithful_patches", "on", sorted(FAITHFUL_PATCHES)),
        ("install_speed_patches", "on", sorted(SPEED_PATCHES)),
        ("install_moto_patches", "on", sorted({**FAITHFUL_PATCHES, **SPEED_PATCHES})),
        ("install_moto_patches", "off", sorted(FAITHFUL_PATCHES)),
    ],
)
def test_each_group_installs_alone_and_the_switch_leaves_the_speed_group_out(
    install: str, switch: str, expected: list[str]
) -> None:
    assert _applied_in_a_new_process(install, switch) == expected


def test_this_process_runs_the_groups_the_switch_asks_for(aws: dict[str, str]) -> None:
    """The suite's own process: every patch under ``make test``, the faithful ones only under ``make test-faithful``."""
    from local_runtime.moto_hooks import speed_patches_enabled

    expected = {**FAITHFUL_PATCHES, **(SPEED_PATCHES if speed_patches_enabled() else {})}
    assert applied_patches() == sorted(expected)


def test_the_switch_is_on_unless_it_says_off() -> None:
    from local_runtime.moto_hooks import speed_patches_enabled

    assert speed_patches_enabled({}) and speed_patches_enabled({"LOCAL_RUNTIME_SPEED_PATCHES": "on"})
    assert not speed_patches_enabled({"LOCAL_RUNTIME_SPEED_PATCHES": "off"})
    assert not speed_patches_enabled({"LOCAL_RUNTIME_SPEED_PATCHES": " OFF "})
    with pytest.raises(ValueError, match="LOCAL_RUNTIME_SPEED_PATCHES"):
        speed_patches_enabled({"LOCAL_RUNTIME_SPEED_PATCHES": "fast"})


def test_the_runtime_refuses_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from local_runtime import moto_version

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "5.9.9")
    moto_version.installed_moto_version.cache_clear()  # read once per process: read it again here
    try:
        with pytest.raises(moto_version.MotoVersionError, match="moto==5.2.5"):
            moto_version.require_pinned_moto()
    finally:
        moto_version.installed_moto_version.cache_clear()


def test_the_installed_moto_is_the_pinned_one() -> None:
    from local_runtime.moto_version import require_pinned_moto

    require_pinned_moto()


@speed_patch
def test_executions_of_one_definition_share_one_parsed_program(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's ExecutionWorker must still get its program from AmazonStateLanguageParser.parse (now cached)."""
    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.backend import execution_worker

    parse = AmazonStateLanguageParser.parse
    assert getattr(parse, "caches_programs", False), "cache_parsed_programs was not applied"
    programs: list[Any] = []
    original = execution_worker.ExecutionWorker._get_evaluation_entrypoint

    def recording(worker: Any) -> Any:
        program = original(worker)
        programs.append(program)
        return program

    monkeypatch.setattr(execution_worker.ExecutionWorker, "_get_evaluation_entrypoint", recording)
    for title in ("A clean title", "Another clean title"):
        wait_for_status(client, submit(client, title)["submissionId"], "APPROVED")
    assert len(programs) == 2
    assert programs[0] is programs[1]
    assert parse.cache_info().hits >= 2  # type: ignore[attr-defined]


@speed_patch
def test_jsonpath_expressions_are_compiled_once(client: Any) -> None:
    """moto's interpreter must still compile JSONPath through the module attributes the patch replaces."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        assert getattr(module.parse, "caches_expressions", False), module.__name__
    _submit_and_finish(client, "A clean title")  # its last states (the deliveries) compile after APPROVED
    before = json_path.parse.cache_info()
    _submit_and_finish(client, "A second clean title")
    after = json_path.parse.cache_info()
    assert after.hits > before.hits, "the interpreter no longer evaluates JSONPath through json_path.parse"
    assert after.misses == before.misses, "a second execution of the same definition compiled new expressions"
    assert json.dumps(json_path.extract_json("$.a[0]", {"a": [1, 2]})) == "1"


def _submit_and_finish(client: Any, title: str) -> None:
    """Submit a clean title and wait until its execution has finished, not only until it is APPROVED."""
    import boto3

    from tests.conftest import REGION

    submission_id = submit(client, title)["submissionId"]
    wait_for_status(client, submission_id, "APPROVED")
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    execution_arn = _execution_arn(submission_id)
    wait_for(lambda: stepfunctions.describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED")


def _execution_arn(submission_id: str) -> str:
    import boto3

    from tests.conftest import REGION

    client = boto3.client("stepfunctions", region_name=REGION)
    machines = client.list_state_machines()["stateMachines"]
    for machine in machines:
        for execution in client.list_executions(stateMachineArn=machine["stateMachineArn"])["executions"]:
            if submission_id in execution["name"] or submission_id in execution["executionArn"]:
                return str(execution["executionArn"])
    raise AssertionError(f"no execution for {submission_id}")


def _parser_execution(execution_arn: str) -> Any:
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    from tests.conftest import ACCOUNT_ID, REGION

    return stepfunctions_parser_backends[ACCOUNT_ID][REGION].describe_execution(execution_arn)


@speed_patch
def test_the_interpreter_calls_the_apps_handlers_without_the_lambda_api(
    client: Any, dispatcher: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the interpreter went through moto's Lambda API")

    monkeypatch.setattr(LambdaSimpleBackend, "invoke", refuse)
    wait_for_status(client, submit(client, "A clean direct title")["submissionId"], "APPROVED")
    assert any(name.endswith("check_content") for name in dispatcher.invocations)
    assert any(name.endswith("record_outcome") for name in dispatcher.invocations)


@speed_patch
def test_a_waiting_execution_holds_one_thread(client: Any, admin_headers: dict[str, str]) -> None:
    import threading

    from tests.conftest import pending_review_for

    wait_for_status(client, submit(client, "A clean warm-up")["submissionId"], "APPROVED")
    before = threading.active_count()
    waiting = 4
    for index in range(waiting):
        pending_review_for(client, admin_headers, submit(client, f"forbidden thread {index}")["submissionId"])
    assert threading.active_count() - before <= waiting


@speed_patch
def test_task_tokens_and_executions_are_found_without_scanning(
    client: Any, admin_headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Approve and DescribeExecution work with moto's scans disabled; finished state is released."""
    from moto.stepfunctions.parser.asl.eval.environment import Environment
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    from tests.conftest import pending_review_for

    created = submit(client, "forbidden indexed")
    review = pending_review_for(client, admin_headers, created["submissionId"])

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("moto scanned every execution")

    monkeypatch.setattr(StepFunctionsParserBackend, "_get_executions", refuse)
    approved = client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers, body="{}")
    assert approved.status_code == 200, approved.body
    wait_for_status(client, created["submissionId"], "APPROVED")
    execution = _parser_execution(_execution_arn(created["submissionId"]))
    # The outcome is recorded before the delivery states run: the execution ends a moment later,
    # and then only its history is kept, not the interpreter's state.
    wait_for(lambda: not isinstance(execution.exec_worker.env, Environment))
    history = [event["type"] for event in execution.to_history_output()["events"]]
    assert history[0] == "ExecutionStarted" and history[-1] == "ExecutionSucceeded"


def test_a_finished_executions_token_and_a_reused_name_get_moto_errors(
    client: Any, admin_headers: dict[str, str], aws: dict[str, str]
) -> None:
    import boto3
    from botocore.exceptions import ClientError

    from tests.conftest import REGION, pending_review_for

    created = submit(client, "forbidden finished")
    review = pending_review_for(client, admin_headers, created["submissionId"])
    reviews = boto3.resource("dynamodb", region_name=REGION).Table(aws["ReviewsTableName"])
    token = reviews.get_item(Key={"reviewId": review["reviewId"]})["Item"]["taskToken"]
    assert (
        client.http.post(f"/reviews/{review['reviewId']}/approve", headers=admin_headers, body="{}").status_code == 200
    )
    wait_for_status(client, created["submissionId"], "APPROVED")
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    # The outcome is recorded before the delivery states run: wait for the execution itself to end.
    execution_arn = _execution_arn(created["submissionId"])
    wait_for(lambda: stepfunctions.describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED")
    with pytest.raises(ClientError) as refused:
        stepfunctions.send_task_success(taskToken=token, output="{}")
    assert refused.value.response["Error"]["Code"] == "InvalidToken"

    execution = stepfunctions.describe_execution(executionArn=_execution_arn(created["submissionId"]))
    with pytest.raises(ClientError) as exists:
        stepfunctions.start_execution(
            stateMachineArn=execution["stateMachineArn"], name=execution["name"], input=execution["input"]
        )
    assert exists.value.response["Error"]["Code"] == "ExecutionAlreadyExists"


@speed_patch
def test_a_sparse_index_query_reads_only_the_items_in_the_index(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same answers as moto's full walk (adds, removals, paging), while walking only the index's items."""
    import boto3
    from boto3.dynamodb.conditions import Key
    from moto.dynamodb.models.table import Table

    from tests.conftest import REGION

    table = boto3.resource("dynamodb", region_name=REGION).Table(aws["ReviewsTableName"])
    with table.batch_writer() as batch:
        for number in range(200):
            batch.put_item(Item={"reviewId": f"decided-{number:03}", "createdAt": f"2026-01-01T00:{number // 60:02}"})
        for number in range(5):
            batch.put_item(
                Item={
                    "reviewId": f"pending-{number}",
                    "createdAt": f"2026-02-0{number + 1}",
                    "pendingPartition": "PENDING",
                }
            )

    walked: list[int] = []
    all_items = Table.all_items

    def recording(self: Any) -> Any:
        items = all_items(self)
        walked.append(len(items))
        return items

    monkeypatch.setattr(Table, "all_items", recording)

    def pending(**extra: Any) -> list[str]:
        page = table.query(
            IndexName="pending-by-created", KeyConditionExpression=Key("pendingPartition").eq("PENDING"), **extra
        )
        return [item["reviewId"] for item in page["Items"]]

    pending()  # the first Query builds the membership with one walk
    walked.clear()
    assert pending() == [f"pending-{number}" for number in range(5)]
    assert walked and max(walked) <= 5, walked
    table.update_item(Key={"reviewId": "pending-0"}, UpdateExpression="REMOVE pendingPartition")
    table.update_item(
        Key={"reviewId": "decided-007"},
        UpdateExpression="SET pendingPartition = :p",
        ExpressionAttributeValues={":p": "PENDING"},
    )
    table.delete_item(Key={"reviewId": "pending-1"})
    assert pending() == ["decided-007", "pending-2", "pending-3", "pending-4"]
    assert pending(ScanIndexForward=False, Limit=2) == ["pending-4", "pending-3"]


@speed_patch
def test_moto_lists_a_response_class_methods_once(client: Any) -> None:
    """call_action must still ask method_names_from_class (now cached) whether the action exists."""
    from moto.core import responses

    assert getattr(responses.method_names_from_class, "cached_per_class", False)
    wait_for_status(client, submit(client, "A clean listed title")["submissionId"], "APPROVED")
    before = responses.method_names_from_class.cache_info()  # type: ignore[attr-defined]
    wait_for_status(client, submit(client, "Another clean listed title")["submissionId"], "APPROVED")
    after = responses.method_names_from_class.cache_info()  # type: ignore[attr-defined]
    assert after.hits > before.hits and after.misses == before.misses


def test_a_read_never_races_a_write_on_the_same_item(aws: dict[str, str]) -> None:
    """moto mutates items in place; without serialize_dynamodb_requests a GetItem could fail mid-update."""
    import sys
    import threading

    import boto3

    from tests.conftest import REGION

    previous = sys.getswitchinterval()
    table = boto3.resource("dynamodb", region_name=REGION).Table(aws["SubmissionsTableName"])
    table.put_item(Item={"submissionId": "raced", **{f"field{index}": {"n": index} for index in range(200)}})
    errors: list[BaseException] = []
    done = threading.Event()

    def write() -> None:
        try:
            for number in range(120):
                table.update_item(
                    Key={"submissionId": "raced"},
                    UpdateExpression="SET #a = :v REMOVE #b",
                    ExpressionAttributeNames={"#a": f"a{number}", "#b": f"a{number - 1}"},
                    ExpressionAttributeValues={":v": {"nested": {str(index): index for index in range(20)}}},
                )
        except BaseException as error:
            errors.append(error)
        finally:
            done.set()

    sys.setswitchinterval(1e-6)  # switch threads often, so a read overlaps a write if it can
    try:
        writer = threading.Thread(target=write)
        writer.start()
        try:
            while not done.is_set():
                table.get_item(Key={"submissionId": "raced"})
        except BaseException as error:
            errors.append(error)
        writer.join()
    finally:
        sys.setswitchinterval(previous)
    assert not errors, errors


@speed_patch
def test_the_interpreters_aws_calls_reuse_one_client_per_service(
    client: Any, aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every interpreter module that builds clients must still do it through the function the patch replaces."""
    import importlib

    import boto3

    from local_runtime.moto_hooks import INTERPRETER_CLIENT_MODULES
    from tests.conftest import REGION

    for name in INTERPRETER_CLIENT_MODULES:
        assert getattr(importlib.import_module(name).boto_client_for, "reuses_clients", False), name
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    executions = aws["StateMachineArn"].replace(":stateMachine:", ":execution:")
    _run_to_the_end(client, stepfunctions, executions, "A clean title that warms the clients")
    built: list[str] = []
    original = boto3.client

    def recording(*args: Any, **kwargs: Any) -> Any:
        built.append(kwargs.get("service_name") or args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(boto3, "client", recording)
    for title in ("A second clean title", "A third clean title"):
        _run_to_the_end(client, stepfunctions, executions, title)
    assert built == []


def _run_to_the_end(client: Any, stepfunctions: Any, executions: str, title: str) -> None:
    """Submit a clean title and wait until its execution (named after the submission) has ended."""
    execution_arn = f"{executions}:{submit(client, title)['submissionId']}"
    wait_for(lambda: stepfunctions.describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED")


def test_a_task_token_wait_runs_on_the_interpreter_clock_and_its_timeout_is_states_timeout(
    client: Any, interpreter_clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto must still wait for a token in ``CallbackEndpoint.wait`` with the state's TimeoutSeconds, and
    still read a wake-up without an outcome as the task's ``States.Timeout`` (the Catch goes to MarkExpired)."""
    import boto3
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackEndpoint

    from tests.conftest import REGION, REVIEW_TIMEOUT_SECONDS

    assert getattr(CallbackEndpoint.wait, "uses_interpreter_clock", False), "the patch was not applied"
    timeouts: list[Any] = []
    wait = interpreter_clock.wait

    def recording(event: Any, timeout: Any) -> bool:
        timeouts.append(timeout)
        return bool(wait(event, timeout))

    monkeypatch.setattr(interpreter_clock, "wait", recording)
    created = submit(client, "forbidden on the interpreter clock")
    interpreter_clock.wait_until_waiting(1)
    assert timeouts == [REVIEW_TIMEOUT_SECONDS]

    assert interpreter_clock.advance(REVIEW_TIMEOUT_SECONDS) == 1

    wait_for_status(client, created["submissionId"], "EXPIRED")
    stepfunctions = boto3.client("stepfunctions", region_name=REGION)
    execution_arn = _execution_arn(created["submissionId"])
    wait_for(lambda: stepfunctions.describe_execution(executionArn=execution_arn)["status"] == "SUCCEEDED")
    events = stepfunctions.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    timed_out = [event for event in events if event["type"] == "TaskTimedOut"]
    assert len(timed_out) == 1 and timed_out[0]["taskTimedOutEventDetails"]["error"] == "States.Timeout"
    entered = [event["stateEnteredEventDetails"]["name"] for event in events if event["type"].endswith("StateEntered")]
    assert "MarkExpired" in entered


@speed_patch
def test_plain_data_copies_are_cheap_and_still_independent(client: Any) -> None:
    """The patched modules must still copy through ``copy.deepcopy`` / ``deepcopy`` (the names replaced)."""
    import importlib
    import inspect

    from local_runtime.cheap_copies import EXPRESSION_MODULES, INTERPRETER_MODULES, copy_by_pickling, copy_json

    for name in INTERPRETER_MODULES:
        module = importlib.import_module(name)
        assert getattr(module.copy, "copies_cheaply", False), name
        assert "copy.deepcopy(" in inspect.getsource(module), f"{name} no longer copies with copy.deepcopy"
    for name in EXPRESSION_MODULES:
        module = importlib.import_module(name)
        assert module.deepcopy is copy_by_pickling, name
        assert "deepcopy(" in inspect.getsource(module), f"{name} no longer copies with deepcopy"
    text = "a task token " * 20
    original = {"a": [1, {"b": text}], "d": None, "e": (1, [2]), "f": True, "g": 1.5}
    for copy in (copy_json, copy_by_pickling):
        copied = copy(original)
        assert copied == original
        copied["a"][1]["b"] = "changed"
        copied["e"][1].append(3)
        assert original["a"][1]["b"] == text and original["e"] == (1, [2])
    assert copy_json(original)["a"][1]["b"] is text  # immutable leaves are shared, as deepcopy shares them
    wait_for_status(client, submit(client, "A clean title after the copies")["submissionId"], "APPROVED")


@speed_patch
def test_moto_parses_each_policy_once_and_still_enforces_it(aws: dict[str, str]) -> None:
    """IAMPolicy must still parse through the module's ``json.loads``; the signature check still runs first."""
    import inspect

    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam import access_control

    from local_runtime.iam_enforcement import parse_each_policy_once, trust_signatures_checked_before_moto

    parse_each_policy_once()
    trust_signatures_checked_before_moto()
    assert "json.loads(policy_document)" in inspect.getsource(access_control.IAMPolicy.__init__)
    authorize = inspect.getsource(ActionAuthenticatorMixin._authenticate_and_authorize_action)
    assert authorize.index("check_signature()") < authorize.index("check_action_permitted(")
    document = json.dumps({"Statement": [{"Effect": "Deny", "Action": "dynamodb:PutItem", "Resource": "*"}]})
    first = access_control.IAMPolicy(document)
    hits = access_control.json.loads.cache_info().hits  # type: ignore[attr-defined]
    access_control.IAMPolicy(document)
    assert access_control.json.loads.cache_info().hits == hits + 1  # type: ignore[attr-defined]
    assert first.is_action_permitted("dynamodb:PutItem") == access_control.PermissionResult.DENIED


@speed_patch
def test_an_update_expression_is_parsed_once_and_its_tree_never_changes(client: Any, aws: dict[str, str]) -> None:
    """moto must still parse through ``UpdateExpressionParser.make``, and validate a copy of the shared tree."""
    import inspect
    import pickle

    import boto3
    from moto.dynamodb import responses
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    from tests.conftest import REGION

    assert "UpdateExpressionParser.make(" in inspect.getsource(responses.DynamoHandler.update_item)
    assert "UpdateExpressionParser.make(" in inspect.getsource(DynamoDBBackend.update_item)
    expression = "SET #status = :status, decidedAt = :at REMOVE pendingPartition"
    tree = UpdateExpressionParser.make(expression)
    assert UpdateExpressionParser.make(expression) is tree
    before = pickle.dumps(tree)
    table = boto3.resource("dynamodb", region_name=REGION).Table(aws["SubmissionsTableName"])
    hits = UpdateExpressionParser.make.cache_info().hits  # type: ignore[attr-defined]
    for status, at in (("APPROVED", "2026-01-01T00:00:00Z"), ("REJECTED", "2026-01-02T00:00:00Z")):
        updated = table.update_item(
            Key={"submissionId": "s-1"},
            UpdateExpression=expression,
            ExpressionAttributeNames={"#status": "status"},
            ExpressionAttributeValues={":status": status, ":at": at},
            ReturnValues="ALL_NEW",
        )["Attributes"]
        assert updated == {"submissionId": "s-1", "status": status, "decidedAt": at}
    assert UpdateExpressionParser.make.cache_info().hits >= hits + 4  # type: ignore[attr-defined]
    assert pickle.dumps(tree) == before


@speed_patch
def test_a_repeated_condition_is_parsed_once_and_still_decides(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """moto must still parse conditions through ``ConditionExpressionParser.parse``; a reused tree still judges each item."""
    import inspect

    import boto3
    from botocore.exceptions import ClientError
    from moto.dynamodb import responses
    from moto.dynamodb.comparisons import ConditionExpressionParser

    from tests.conftest import REGION

    assert getattr(ConditionExpressionParser.parse, "reuses_conditions", False)
    assert "create_condition_expression_parser(" in inspect.getsource(responses.DynamoHandler)
    table = boto3.resource("dynamodb", region_name=REGION).Table(aws["HistoryTableName"])
    parsed: list[Any] = []
    original = ConditionExpressionParser.parse

    def recording(parser: Any) -> Any:
        op = original(parser)
        parsed.append(op)
        return op

    monkeypatch.setattr(ConditionExpressionParser, "parse", recording)
    for event_id in ("e-1", "e-2"):
        table.put_item(
            Item={"submissionId": "s-1", "eventId": event_id}, ConditionExpression="attribute_not_exists(eventId)"
        )
    with pytest.raises(ClientError) as refused:
        table.put_item(
            Item={"submissionId": "s-1", "eventId": "e-1"}, ConditionExpression="attribute_not_exists(eventId)"
        )
    assert refused.value.response["Error"]["Code"] == "ConditionalCheckFailedException"
    assert len(parsed) >= 3 and all(op is parsed[0] for op in parsed)


@speed_patch
def test_item_answers_written_as_json_match_motos_serializer(
    aws: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every item operation the app uses: botocore reads the JSON answer exactly as moto's own serializer's."""
    import boto3
    from botocore.parsers import create_parser
    from moto.dynamodb.responses import DynamoHandler

    from tests.conftest import REGION

    fast = DynamoHandler.serialized
    assert getattr(fast, "answers_as_json", False)
    moto_serializer = fast.__wrapped__  # type: ignore[attr-defined]
    model = boto3.client("dynamodb", region_name=REGION).meta.service_model
    compared: list[str] = []

    def read_by_botocore(action: str, status: int, headers: dict[str, str], body: str) -> Any:
        answer = {"status_code": status, "headers": headers, "body": body.encode()}
        parsed = create_parser("json").parse(answer, model.operation_model(action).output_shape)
        parsed.pop("ResponseMetadata", None)
        return parsed

    def both(handler: Any, action_result: Any) -> Any:
        action = handler._get_action()
        status, headers, body = fast(handler, action_result)
        expected_status, expected_headers, expected_body = moto_serializer(handler, action_result)
        assert read_by_botocore(action, status, headers, body) == read_by_botocore(
            action, expected_status, expected_headers, expected_body
        ), action
        assert (status, {**headers, "date": ""}) == (expected_status, {**expected_headers, "date": ""})
        compared.append(action)
        return status, headers, body

    monkeypatch.setattr(DynamoHandler, "serialized", both)
    name = aws["HistoryTableName"]
    table = boto3.resource("dynamodb", region_name=REGION).Table(name)
    key = {"submissionId": "s-1", "eventId": "e-1"}
    item = {**key, "n": 5, "f": "1.5", "l": [1, "a", {"m": True}], "ss": {"a", "b"}, "nothing": None, "yes": True}
    table.put_item(Item=item, ConditionExpression="attribute_not_exists(eventId)")
    assert table.get_item(Key=key, ConsistentRead=True)["Item"]["l"][2] == {"m": True}
    table.update_item(
        Key=key, UpdateExpression="SET n = :n", ExpressionAttributeValues={":n": 6}, ReturnValues="ALL_NEW"
    )
    table.query(KeyConditionExpression="submissionId = :s", ExpressionAttributeValues={":s": "s-1"})
    boto3.resource("dynamodb", region_name=REGION).batch_get_item(RequestItems={name: {"Keys": [key]}})
    table.delete_item(Key=key, ReturnValues="ALL_OLD")
    assert compared == ["PutItem", "GetItem", "UpdateItem", "Query", "BatchGetItem", "DeleteItem"]


def test_a_token_whose_task_timed_out_is_refused_with_task_timed_out(aws: Any, interpreter_clock: Any) -> None:
    """moto took a SendTaskSuccess after the task's timeout silently (the execution had moved on to
    MarkExpired, the caller heard 200); AWS answers TaskTimedOut, and so does moto now."""
    import threading

    from moto.stepfunctions.parser.asl.eval.callback.callback import (
        CallbackConsumerTimeout,
        CallbackEndpoint,
        CallbackNotifyConsumerError,
        CallbackOutcomeSuccess,
        CallbackPoolManager,
    )

    assert getattr(CallbackEndpoint.notify, "refuses_after_timeout", False), "the patch was not applied"
    pool = CallbackPoolManager(activity_store={})
    endpoint = pool.add("token-that-times-out")
    outcomes: list[Any] = []
    waiter = threading.Thread(target=lambda: outcomes.append(endpoint.wait(timeout=60)))
    waiter.start()
    interpreter_clock.wait_until_waiting(1)
    assert interpreter_clock.advance(60) == 1
    waiter.join(timeout=10)
    assert outcomes == [None]  # moto reads this as the task's States.Timeout
    assert isinstance(endpoint.consumer_error, CallbackConsumerTimeout)

    late = CallbackOutcomeSuccess(callback_id="token-that-times-out", output="{}")
    with pytest.raises(CallbackNotifyConsumerError):
        pool.notify(callback_id="token-that-times-out", outcome=late)
    assert endpoint.get_outcome() is None  # the late decision was not taken


@speed_patch
def test_the_token_index_answers_task_timed_out_for_a_token_whose_task_timed_out(
    aws: Any, interpreter_clock: Any
) -> None:
    """The index finds the endpoint (moto's own scan only asks running executions' pools) and answers as AWS."""
    import threading

    import boto3
    from botocore.exceptions import ClientError
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackPoolManager

    from tests.conftest import REGION

    endpoint = CallbackPoolManager(activity_store={}).add("indexed-token-that-times-out")
    waiter = threading.Thread(target=lambda: endpoint.wait(timeout=60))
    waiter.start()
    interpreter_clock.wait_until_waiting(1)
    assert interpreter_clock.advance(60) == 1
    waiter.join(timeout=10)
    with pytest.raises(ClientError) as refused:
        boto3.client("stepfunctions", region_name=REGION).send_task_success(
            taskToken="indexed-token-that-times-out", output="{}"
        )
    assert refused.value.response["Error"]["Code"] == "TaskTimedOut"


def test_a_token_notified_before_its_timeout_keeps_its_outcome(aws: Any, interpreter_clock: Any) -> None:
    from moto.stepfunctions.parser.asl.eval.callback.callback import CallbackOutcomeSuccess, CallbackPoolManager

    pool = CallbackPoolManager(activity_store={})
    endpoint = pool.add("token-in-time")
    success = CallbackOutcomeSuccess(callback_id="token-in-time", output="{}")
    assert pool.notify(callback_id="token-in-time", outcome=success) is True
    assert endpoint.wait(timeout=60) is success
    assert endpoint.consumer_error is None


@speed_patch
def test_sessions_share_loaded_botocore_data_and_answer_alike(aws: dict[str, str]) -> None:
    """botocore must still load through ``Loader.load_service_model`` / ``load_data_with_path`` (now shared)."""
    import boto3
    from botocore.loaders import Loader

    from tests.conftest import REGION

    assert getattr(Loader.load_data_with_path, "shared_between_loaders", False)
    first, second = (boto3.session.Session(region_name=REGION) for _ in range(2))
    assert first._loader is not second._loader
    one, other = (session.client("dynamodb") for session in (first, second))
    assert one.meta.service_model._service_description is other.meta.service_model._service_description
    tables = sorted(name for key, name in aws.items() if key.endswith("TableName"))
    assert sorted(one.list_tables()["TableNames"]) == sorted(other.list_tables()["TableNames"]) == tables


@speed_patch
def test_a_json_template_reads_as_json_exactly_as_moto_reads_it_and_yaml_still_goes_to_moto(
    aws: dict[str, str],
) -> None:
    """The patched parser gives moto's own result for our template; a YAML template still takes moto's path."""
    import yaml
    from moto.cloudformation.models import Stack
    from moto.cloudformation.utils import yaml_tag_constructor

    from deploy.template import build_template

    assert getattr(Stack.parse_template, "reads_json_as_json", False)
    body = json.dumps(build_template(stage="dev", region="us-east-1", account_id="123456789012"))
    yaml.add_multi_constructor("", yaml_tag_constructor)
    assert Stack.parse_template(body) == yaml.load(body, Loader=yaml.Loader)
    yaml_body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n    Properties:\n      TopicName: !Ref Name\n"
    assert Stack.parse_template(yaml_body) == {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": {"Ref": "Name"}}}}
    }


@speed_patch
def test_a_kms_key_made_on_first_use_signs_verifies_and_shows_its_public_key(aws: dict[str, str]) -> None:
    """moto's Key must still take its private key from ``moto.kms.models.generate_private_key`` (now lazy)."""
    import boto3
    import moto.kms.models as kms_models
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    from tests.conftest import REGION

    assert getattr(kms_models.generate_private_key, "generates_on_first_use", False)
    kms = boto3.client("kms", region_name=REGION)
    for spec, algorithm in (("RSA_2048", "RSASSA_PSS_SHA_256"), ("ECC_NIST_P256", "ECDSA_SHA_256")):
        key_id = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec=spec)["KeyMetadata"]["KeyId"]
        signature = kms.sign(KeyId=key_id, Message=b"article", SigningAlgorithm=algorithm)["Signature"]
        verified = kms.verify(KeyId=key_id, Message=b"article", Signature=signature, SigningAlgorithm=algorithm)
        assert verified["SignatureValid"] is True
        public = load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
        assert public.key_size == (2048 if spec == "RSA_2048" else 256)
    other = kms.verify(KeyId=key_id, Message=b"another", Signature=signature, SigningAlgorithm="ECDSA_SHA_256")
    assert other["SignatureValid"] is False  # moto answers False where KMS raises KMSInvalidSignatureException
