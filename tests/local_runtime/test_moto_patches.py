"""Each moto patch still reaches the moto code it replaces: these fail when moto changes underneath."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import submit, wait_for_status


def test_the_runtime_refuses_another_moto_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    from local_runtime import moto_version

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "5.9.9")
    with pytest.raises(moto_version.MotoVersionError, match="moto==5.2.5"):
        moto_version.require_pinned_moto()


def test_the_installed_moto_is_the_pinned_one() -> None:
    from local_runtime.moto_version import require_pinned_moto

    require_pinned_moto()


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


def test_jsonpath_expressions_are_compiled_once(client: Any) -> None:
    """moto's interpreter must still compile JSONPath through the module attributes the patch replaces."""
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    for module in (json_path, result_path):
        assert getattr(module.parse, "caches_expressions", False), module.__name__
    wait_for_status(client, submit(client, "A clean title")["submissionId"], "APPROVED")
    before = json_path.parse.cache_info()
    wait_for_status(client, submit(client, "A second clean title")["submissionId"], "APPROVED")
    after = json_path.parse.cache_info()
    assert after.hits > before.hits, "the interpreter no longer evaluates JSONPath through json_path.parse"
    assert after.misses == before.misses, "a second execution of the same definition compiled new expressions"
    assert json.dumps(json_path.extract_json("$.a[0]", {"a": [1, 2]})) == "1"
