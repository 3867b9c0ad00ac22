"""Patches to moto's DynamoDB: a Query on a sparse global secondary index reads that index, not the table;
each UpdateExpression and each repeated condition is parsed once; item answers are written as JSON.

Guarded like every moto patch (``local_runtime.moto_version``) and checked against moto by
``tests/local_runtime/test_moto_patches.py``.
"""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

from local_runtime.moto_version import require_pinned_moto

# id(table) -> (table, {index name: set of (hash key, range key) of items that may be in it}).
_memberships: dict[int, tuple[Any, dict[str, set[tuple[Any, Any]]]]] = {}
_membership_lock = threading.Lock()
# The items ``Table.all_items`` returns to the Query running on this thread (see query_gsi_members).
_query_scope = threading.local()
# Distinct UpdateExpression texts: the app sends a handful.
_EXPRESSION_CACHE_SIZE = 1024
# Distinct conditions kept before starting over (most repeat; those holding a timestamp do not).
_CONDITION_CACHE_SIZE = 4096


def _key_attributes(index: Any) -> list[str]:
    return [key["AttributeName"] for key in index.schema]


def _global_indexes(table: Any) -> dict[str, Any]:
    return {index.name: index for index in (table.global_indexes or [])}


def _members(table: Any, index: Any) -> set[tuple[Any, Any]]:
    """The membership set of ``index`` (built by one walk of the table the first time). Lock held by caller."""
    entry = _memberships.get(id(table))
    if entry is None or entry[0] is not table:
        entry = _memberships[id(table)] = (table, {})
    by_index = entry[1]
    if index.name not in by_index:
        attributes = _key_attributes(index)
        by_index[index.name] = {
            (item.hash_key, item.range_key)
            for item in table.all_items()
            if all(item.attrs.get(name) for name in attributes)
        }
    return by_index[index.name]


def _note_write(table: Any, item: Any) -> None:
    """After a put or update: an item that now has an index's key attributes joins its membership set."""
    entry = _memberships.get(id(table))
    if item is None or entry is None or entry[0] is not table:
        return  # no index of this table was queried yet; the first Query walks the table once
    indexes = _global_indexes(table)
    with _membership_lock:
        for name, members in entry[1].items():
            index = indexes.get(name)
            if index is not None and all(item.attrs.get(attribute) for attribute in _key_attributes(index)):
                members.add((item.hash_key, item.range_key))


def _current_item(table: Any, hash_key: Any, range_key: Any) -> Any:
    if table.range_key_attr:
        return table.items.get(hash_key, {}).get(range_key)
    return table.items.get(hash_key)


def query_gsi_members() -> None:
    """Make a Query on a global secondary index walk the items in that index, not every item.

    moto 5.2.5's ``Table.query`` loops over ``all_items()`` (the whole table, sorted) for an index
    Query. Our pending list Queries a sparse index that holds only pending reviews, so with
    100,000 decided reviews every page paid for 100,000 items (27x slower than with 100).

    Each (table, index) keeps the set of item keys that carry the index's key attributes: built by
    one walk at the first Query, grown by every ``put_item`` and ``update_item`` (the paths batch
    and transactional writes go through too). Items that left the index (deleted, or the attribute
    removed) are dropped when the next Query finds them gone. During that Query, ``all_items``
    returns those items, sorted as moto sorts them, so moto's own matching, ordering, paging and
    filtering run unchanged on the index's items. Writes through PartiQL are not tracked.
    """
    require_pinned_moto()
    from moto.dynamodb.models import DynamoDBBackend
    from moto.dynamodb.models.table import Table

    if getattr(Table.query, "reads_index_members", False):
        return
    query, put_item, all_items = Table.query, Table.put_item, Table.all_items
    update_item = DynamoDBBackend.update_item

    @functools.wraps(query)
    def query_members(self: Any, *args: Any, **kwargs: Any) -> Any:
        # index_name is Query's eighth parameter; moto's backend passes it by position.
        index_name = kwargs["index_name"] if "index_name" in kwargs else (args[7] if len(args) > 7 else None)
        index = _global_indexes(self).get(index_name or "")
        if index is None:
            return query(self, *args, **kwargs)
        attributes = _key_attributes(index)
        with _membership_lock:
            members = _members(self, index)
            items, gone = [], []
            for hash_key, range_key in members:
                item = _current_item(self, hash_key, range_key)
                if item is not None and all(item.attrs.get(name) for name in attributes):
                    items.append(item)
                else:
                    gone.append((hash_key, range_key))
            members.difference_update(gone)
        items.sort(key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)
        _query_scope.scope = (self, items)
        try:
            return query(self, *args, **kwargs)
        finally:
            _query_scope.scope = None

    @functools.wraps(all_items)
    def all_items_in_scope(self: Any) -> Any:
        scope = getattr(_query_scope, "scope", None)
        if scope is not None and scope[0] is self:
            return list(scope[1])
        return all_items(self)

    @functools.wraps(put_item)
    def put_and_note(self: Any, *args: Any, **kwargs: Any) -> Any:
        item = put_item(self, *args, **kwargs)
        _note_write(self, item)
        return item

    @functools.wraps(update_item)
    def update_and_note(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
        item = update_item(self, table_name, *args, **kwargs)
        _note_write(self.get_table(table_name), item)
        return item

    query_members.reads_index_members = True  # type: ignore[attr-defined]
    Table.query = query_members  # type: ignore[method-assign]
    Table.all_items = all_items_in_scope  # type: ignore[method-assign]
    Table.put_item = put_and_note  # type: ignore[method-assign]
    DynamoDBBackend.update_item = update_and_note  # type: ignore[method-assign]


def parse_each_update_expression_once() -> None:
    """Parse each distinct UpdateExpression once, not twice per UpdateItem.

    moto tokenises and parses an UpdateItem's expression in its response layer (to check the
    names and values used) and again in its backend: about a twentieth of the runtime's CPU per
    submission, for the same handful of expressions the app sends. The parsed tree depends only
    on the expression's text; the one consumer that changes a tree, the validator, works on its
    own deep copy (``Validator.__init__``), so a tree can be shared. Failed parses are not cached.
    """
    require_pinned_moto()
    from moto.dynamodb.parsing.expressions import UpdateExpressionParser

    make = UpdateExpressionParser.__dict__["make"].__func__
    if getattr(make, "caches_trees", False):
        return

    @functools.lru_cache(maxsize=_EXPRESSION_CACHE_SIZE)
    def parse(expression: str) -> Any:
        return make(UpdateExpressionParser, expression)

    @functools.wraps(make)
    def cached(cls: Any, expression: str) -> Any:
        return parse(expression) if cls is UpdateExpressionParser else make(cls, expression)

    cached.caches_trees = True  # type: ignore[attr-defined]
    cached.cache_info = parse.cache_info  # type: ignore[attr-defined]
    UpdateExpressionParser.make = classmethod(cached)  # type: ignore[assignment,method-assign]


def reuse_parsed_conditions() -> None:
    """Parse each distinct condition (expression, names and values together) once.

    moto parses a conditional write's ``ConditionExpression`` in its response layer (to check the
    names used) and again in its backend, on every request. Most of the app's conditions repeat
    exactly (``attribute_not_exists(eventId)`` on every audit-trail append, the create of each
    submission), so the parsed condition is kept per (expression, names, values). The parse
    depends on nothing else, and the condition tree is only evaluated, never changed.
    """
    require_pinned_moto()
    from moto.dynamodb.comparisons import ConditionExpressionParser

    parse = ConditionExpressionParser.parse
    if getattr(parse, "reuses_conditions", False):
        return
    parsed: dict[str, tuple[Any, list[str], list[str]]] = {}
    lock = threading.Lock()

    @functools.wraps(parse)
    def cached(self: Any) -> Any:
        key = json.dumps(
            [self.condition_expression, self.expression_attribute_names, self.expression_attribute_values],
            sort_keys=True,
            default=repr,  # a binary value arrives as bytes
        )
        with lock:
            entry = parsed.get(key)
        if entry is None:
            op = parse(self)
            entry = (op, list(self.expr_attr_names_found), list(self.expr_attr_values_found))
            with lock:
                if len(parsed) >= _CONDITION_CACHE_SIZE:
                    parsed.clear()  # distinct conditions with changing values (timestamps) would grow it
                parsed[key] = entry
            return op
        op, names, values = entry
        self.expr_attr_names_found.extend(names)
        self.expr_attr_values_found.extend(values)
        return op

    cached.reuses_conditions = True  # type: ignore[attr-defined]
    ConditionExpressionParser.parse = cached  # type: ignore[method-assign]


# Item operations whose answers moto's DynamoDB handler already builds in the wire format: plain
# dicts of strings, numbers, booleans, lists and dicts (AttributeValues are {"S": "..."} and so on).
_PLAIN_JSON_ACTIONS = frozenset(
    {"GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query", "Scan", "BatchGetItem", "BatchWriteItem"}
)
_JSON_CONTENT_TYPE = "application/x-amz-json-1.0"


def answer_item_operations_as_json() -> None:
    """Write a successful item operation's answer with ``json.dumps`` instead of moto's shape walker.

    moto's generic response serializer walks the operation's output shape and, for every attribute
    of every item, tries each AttributeValue member through a chain of alias lookups: more than a
    third of a GetItem's CPU. For the item operations the handler's result is already the JSON
    DynamoDB answers (at most with a key outside the output shape, which botocore ignores as it
    ignores any unknown key; ``tests/local_runtime/test_moto_patches.py`` checks botocore reads
    both answers alike), so it is dumped as is. Errors, paginated results and anything ``json`` cannot write
    (bytes, datetimes) still go through moto's serializer. Idempotent.
    """
    require_pinned_moto()
    from moto.core.responses import ActionResult
    from moto.dynamodb.responses import DynamoHandler, DynamoResult

    serialized = DynamoHandler.serialized
    if getattr(serialized, "answers_as_json", False):
        return
    # Not PaginatedResult, whose serialising also pages the result.
    plain_results = (ActionResult, DynamoResult)

    @functools.wraps(serialized)
    def as_json(self: Any, action_result: Any) -> Any:
        result = action_result.result
        if type(action_result) in plain_results and type(result) is dict and self._get_action() in _PLAIN_JSON_ACTIONS:
            try:
                body = json.dumps(result)
            except (TypeError, ValueError):
                return serialized(self, action_result)
            headers = {"Content-Type": _JSON_CONTENT_TYPE}
            headers.update(self.response_headers)
            return 200, headers, body
        return serialized(self, action_result)

    as_json.answers_as_json = True  # type: ignore[attr-defined]
    DynamoHandler.serialized = as_json  # type: ignore[method-assign]
