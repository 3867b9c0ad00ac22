"""Patches: moto's deep copies of plain data made about three times faster than by ``copy.deepcopy``.

moto deep-copies a great deal of plain data on every call: the Step Functions interpreter copies
each state's input and result and the context object (dozens of copies per execution), and
DynamoDB copies each UpdateItem's parsed expression before validating it. ``copy.deepcopy`` walks
such a graph in Python with a memo and a dispatch per object. The interpreter's data is JSON
(dicts, lists, strings, numbers), so :func:`copy_json` rebuilds only the containers and shares
the immutable leaves, as ``deepcopy`` does (a waiting execution keeps its copies, so sharing
strings matters for memory); anything else falls back to ``deepcopy``. An expression tree is an
object graph that lives for one request: a pickle round trip rebuilds it through the same
``__reduce_ex__`` protocol in C. The copies stay complete and independent. Objects with their own
``__deepcopy__`` (moto's DynamoDB ``Item``, whose copy skips size checks) keep it: the modules that
copy items are left alone.

Guarded like every moto patch (``local_runtime.moto_version``) and checked against moto by
``tests/local_runtime/test_moto_patches.py``.
"""

from __future__ import annotations

import copy
import importlib
import pickle
from typing import Any

from local_runtime.moto_version import require_pinned_moto

# moto modules that ``import copy`` and call ``copy.deepcopy`` on JSON data (and a few plain objects).
INTERPRETER_MODULES = (
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.eval.environment",
    "moto.stepfunctions.parser.asl.eval.event.event_manager",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
)
# moto modules that ``from copy import deepcopy`` and copy expression trees.
EXPRESSION_MODULES = ("moto.dynamodb.parsing.validators",)


_JSON_LEAVES = (str, int, float, bool, type(None))


def copy_json(value: Any, memo: Any = None) -> Any:
    """A deep copy of JSON data sharing its immutable leaves; anything else is ``copy.deepcopy``'d.

    ``memo`` is accepted for ``copy.deepcopy``'s signature. JSON has no cycles and no shared
    containers that matter, so no memo is kept.
    """
    kind = type(value)
    if kind is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if kind is list:
        return [copy_json(item) for item in value]
    if kind in _JSON_LEAVES:
        return value
    return copy.deepcopy(value)


copy_json.copies_cheaply = True  # type: ignore[attr-defined]


def copy_by_pickling(value: Any, memo: Any = None) -> Any:
    """A deep copy of ``value`` (``memo`` is accepted for ``copy.deepcopy``'s signature and unused)."""
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


copy_by_pickling.copies_cheaply = True  # type: ignore[attr-defined]


class JsonCopyModule:
    """Stands in for the ``copy`` module inside one moto module: ``deepcopy`` is :func:`copy_json`, the rest is ``copy``'s."""

    copies_cheaply = True
    deepcopy = staticmethod(copy_json)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def copy_plain_data_cheaply() -> None:
    """Give the interpreter's modules :func:`copy_json` and DynamoDB's expression validator the pickle copy. Idempotent."""
    require_pinned_moto()
    for name in INTERPRETER_MODULES:
        module = importlib.import_module(name)
        if not getattr(module.copy, "copies_cheaply", False):
            module.copy = JsonCopyModule()
    for name in EXPRESSION_MODULES:
        module = importlib.import_module(name)
        if not getattr(module.deepcopy, "copies_cheaply", False):
            module.deepcopy = copy_by_pickling
