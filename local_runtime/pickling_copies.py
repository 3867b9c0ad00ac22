"""Patches: moto's deep copies of plain data made by a pickle round trip instead of ``copy.deepcopy``.

moto deep-copies a great deal of plain data on every call: the Step Functions interpreter copies
each state's input and result and the context object (dozens of copies per execution), and
DynamoDB copies each UpdateItem's parsed expression before validating it. ``copy.deepcopy`` walks
such a graph in Python; pickling rebuilds the same graph through the same ``__reduce_ex__``
protocol in C, about three times faster. The copies stay complete and independent. Objects with
their own ``__deepcopy__`` (moto's DynamoDB ``Item``, whose copy skips size checks) keep it: the
modules that copy items are left alone.

Guarded like every moto patch (``local_runtime.moto_version``) and checked against moto by
``tests/local_runtime/test_moto_patches.py``.
"""

from __future__ import annotations

import copy
import importlib
import pickle
from typing import Any

from local_runtime.moto_version import require_pinned_moto

# moto modules that ``import copy`` and call ``copy.deepcopy`` on plain JSON-like data only.
INTERPRETER_MODULES = (
    "moto.stepfunctions.parser.asl.eval.states",
    "moto.stepfunctions.parser.asl.eval.environment",
    "moto.stepfunctions.parser.asl.eval.event.event_manager",
    "moto.stepfunctions.parser.asl.component.common.string.string_expression",
)
# moto modules that ``from copy import deepcopy`` and copy expression trees.
EXPRESSION_MODULES = ("moto.dynamodb.parsing.validators",)


def copy_by_pickling(value: Any, memo: Any = None) -> Any:
    """A deep copy of ``value`` (``memo`` is accepted for ``copy.deepcopy``'s signature and unused)."""
    return pickle.loads(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL))


copy_by_pickling.copies_by_pickling = True  # type: ignore[attr-defined]


class PicklingCopyModule:
    """Stands in for the ``copy`` module inside one moto module: ``deepcopy`` pickles, the rest is ``copy``'s."""

    copies_by_pickling = True
    deepcopy = staticmethod(copy_by_pickling)

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def copy_plain_data_by_pickling() -> None:
    """Give the interpreter's and DynamoDB's expression modules the pickling ``deepcopy``. Idempotent."""
    require_pinned_moto()
    for name in INTERPRETER_MODULES:
        module = importlib.import_module(name)
        if not getattr(module.copy, "copies_by_pickling", False):
            module.copy = PicklingCopyModule()
    for name in EXPRESSION_MODULES:
        module = importlib.import_module(name)
        if not getattr(module.deepcopy, "copies_by_pickling", False):
            module.deepcopy = copy_by_pickling
