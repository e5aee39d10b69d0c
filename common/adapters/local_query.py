"""Firestore query semantics compiled to SQLite SQL over the JSON documents of ``SqliteDocumentStore``.

Why SQL and not Python over every row: a brand's review queue holds tens of thousands of documents; filtering,
ordering, cursors, limits and counts run inside SQLite (``json_extract``) so a page reads only its own rows.

Firestore's rules, reproduced: a filter compares only values of the same type (``tier == "1"`` never matches
``1``), a missing field matches no filter and drops the row from an ``order_by`` on it, types order
null < bool < number < timestamp < string < other, ties are ordered by document id in the direction of the
last order. Timestamps are stored as UTC ISO text with microseconds (``encode_datetime``) so text order is time
order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from common.ports import Cursor, Filter, Order

_SEGMENT = re.compile(r"^[A-Za-z0-9_\-]{1,200}$")
_DT = "__datetime__"
# Firestore's cross-type order (null < bool < number < timestamp < string < everything else)
_RANK_NULL, _RANK_BOOL, _RANK_NUMBER, _RANK_TIME, _RANK_TEXT, _RANK_OTHER = range(6)


def encode_datetime(value: datetime) -> str:
    """Aware datetimes as UTC with microseconds, so equal instants have equal text and text order is time
    order; naive ones (never written by the pipeline) keep their wall time."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def _json_path(field: str) -> str:
    parts = field.split(".")
    if not all(_SEGMENT.match(p) for p in parts):
        raise ValueError(f"field names are letters, digits, '_' and '-' separated by dots: {field[:100]!r}")
    return "$" + "".join(f'."{p}"' for p in parts)


def _rank_sql(path: str) -> str:
    return (
        f"(CASE json_type(data, '{path}') WHEN 'null' THEN {_RANK_NULL} WHEN 'true' THEN {_RANK_BOOL} "
        f"WHEN 'false' THEN {_RANK_BOOL} WHEN 'integer' THEN {_RANK_NUMBER} WHEN 'real' THEN {_RANK_NUMBER} "
        f"WHEN 'text' THEN {_RANK_TEXT} WHEN 'object' THEN (CASE json_type(data, '{path}.\"{_DT}\"') "
        f"WHEN 'text' THEN {_RANK_TIME} ELSE {_RANK_OTHER} END) ELSE {_RANK_OTHER} END)"
    )


def _value_sql(path: str) -> str:
    return (
        f"(CASE WHEN json_type(data, '{path}.\"{_DT}\"') = 'text' THEN json_extract(data, '{path}.\"{_DT}\"') "
        f"ELSE json_extract(data, '{path}') END)"
    )


def _scalar(value: Any) -> tuple[int, Any]:
    """(type rank, comparable SQL value) of a filter or cursor value."""
    if value is None:
        return _RANK_NULL, None
    if isinstance(value, bool):
        return _RANK_BOOL, int(value)
    if isinstance(value, int | float):
        return _RANK_NUMBER, value
    if isinstance(value, datetime):
        return _RANK_TIME, encode_datetime(value)
    if isinstance(value, str):
        return _RANK_TEXT, value
    raise ValueError(
        f"the local store filters and orders on null, bool, number, timestamp or text, not {value!r}"
    )


_CMP = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def _filter_sql(flt: Filter) -> tuple[str, list[Any]]:
    path = _json_path(flt.field)
    rank, val = _rank_sql(path), _value_sql(path)
    if flt.op in _CMP:
        r, v = _scalar(flt.value)
        if v is None:  # only == null is meaningful (Firestore: ``field == None``)
            return (f"{rank} = ?", [r]) if flt.op == "==" else ("0", [])
        return f"({rank} = ? AND {val} {_CMP[flt.op]} ?)", [r, v]
    if flt.op == "!=":
        r, v = _scalar(flt.value)
        return f"({rank} <> {_RANK_NULL} AND NOT ({rank} = ? AND {val} IS ?))", [r, v]
    if flt.op == "in":
        values = list(flt.value)
        if not values:
            return "0", []
        terms, params = [], []
        for item in values:
            r, v = _scalar(item)
            terms.append(f"({rank} = ? AND {val} IS ?)")
            params += [r, v]
        return "(" + " OR ".join(terms) + ")", params
    if flt.op == "array_contains":
        r, v = _scalar(flt.value)
        if r not in (_RANK_BOOL, _RANK_NUMBER, _RANK_TEXT):
            raise ValueError("the local store's array_contains takes a bool, number or text")
        types = {_RANK_BOOL: "('true','false')", _RANK_NUMBER: "('integer','real')", _RANK_TEXT: "('text')"}[
            r
        ]
        return (
            f"(json_type(data, '{path}') = 'array' AND EXISTS (SELECT 1 FROM json_each(data, '{path}') AS e "
            f"WHERE e.type IN {types} AND e.value = ?))",
            [v],
        )
    raise ValueError(f"unsupported operator {flt.op!r}")


def where_sql(collection: str, filters: Sequence[Filter]) -> tuple[str, list[Any]]:
    clauses, params = ["collection = ?"], [collection]
    for flt in filters:
        sql, args = _filter_sql(flt)
        clauses.append(sql)
        params += args
    return " AND ".join(clauses), params


def _after_sql(collection: str, order_by: Sequence[Order], cursor: Cursor) -> tuple[str, list[Any]]:
    """Rows strictly after ``cursor`` in the order (each key compared as (type rank, value), then path)."""
    if len(cursor.values) != len(order_by):
        raise ValueError("a cursor needs one value per order_by field")
    keys: list[tuple[str, bool, tuple[int, Any]]] = []
    for order, value in zip(order_by, cursor.values, strict=True):
        path = _json_path(order.field)
        r, v = _scalar(value)
        keys.append((_rank_sql(path), order.descending, (r, v)))
        keys.append((_value_sql(path), order.descending, (r, v)))
    last_desc = order_by[-1].descending
    terms, params = [], []
    equal_prefix: list[str] = []
    prefix_params: list[Any] = []
    for idx, (expr, desc, (r, v)) in enumerate(keys):
        bound = r if idx % 2 == 0 else v
        op = "<" if desc else ">"
        terms.append("(" + " AND ".join([*equal_prefix, f"{expr} {op} ?"]) + ")")
        params += [*prefix_params, bound]
        equal_prefix.append(f"{expr} IS ?")
        prefix_params.append(bound)
    op = "<" if last_desc else ">"
    terms.append("(" + " AND ".join([*equal_prefix, f"path {op} ?"]) + ")")
    params += [*prefix_params, f"{collection}/{cursor.doc_id}"]
    return "(" + " OR ".join(terms) + ")", params


def select_sql(
    collection: str,
    filters: Sequence[Filter],
    order_by: Sequence[Order],
    limit: int | None,
    start_after: Cursor | None,
) -> tuple[str, list[Any]]:
    where, params = where_sql(collection, filters)
    order_terms: list[str] = []
    for order in order_by:
        path = _json_path(order.field)
        where += f" AND json_type(data, '{path}') IS NOT NULL"
        direction = "DESC" if order.descending else "ASC"
        order_terms += [f"{_rank_sql(path)} {direction}", f"{_value_sql(path)} {direction}"]
    if start_after is not None:
        if not order_by:
            raise ValueError("start_after needs order_by (as in Firestore)")
        after, args = _after_sql(collection, order_by, start_after)
        where += " AND " + after
        params += args
    order_terms.append("path DESC" if order_by and order_by[-1].descending else "path ASC")
    sql = f"SELECT path, data FROM docs WHERE {where} ORDER BY {', '.join(order_terms)}"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    return sql, params
