"""Reading a record with what it names, in queries PostgreSQL plans quickly.

``select_related`` of every person a session names (who prepared, verified, gave, discharged, signed...) made one
query of 14 to 20 tables. PostgreSQL's planner searches join orders exhaustively up to ``join_collapse_limit``
tables and genetically from ``geqo_threshold`` (12) on: such a query took 11 to 33 ms to plan and under 1 ms to
run, on every cockpit load (measured on PostgreSQL 15, bench/load.py). The records a page needs whole (patient,
order, room) stay joined; the people, who are many foreign keys to one table, are read after in one query by id
(:func:`attach`). Imports no app, so every app may use it.

:func:`rows` reads one model's rows with a statement written once per shape, for the few reads on a hot write path
whose ORM compilation costs more than the database's work (a vitals save: bench/bench_vitals.py).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence

from django.db import connections, models, router


def split(model: type[models.Model], related: Sequence[str], *, apart: type[models.Model]) -> tuple[tuple[str, ...],
                                                                                                    tuple[str, ...]]:
    """``related`` (select_related paths from ``model``) cut in two: the paths to join, and those whose last step
    leads to ``apart`` (to be read after with :func:`attach`; what they pass through stays joined)."""
    joined, after = [], []
    for path in related:
        (after if _target(model, path) is apart else joined).append(path)
    for path in after:  # the record a person hangs from must be joined (order__signed_by needs order)
        parent = path.rpartition("__")[0]
        if parent and parent not in joined:
            joined.append(parent)
    return tuple(joined), tuple(after)


def attach(objs: Iterable[models.Model], paths: Sequence[str]) -> None:
    """Read what the foreign keys at ``paths`` point to, for every object of ``objs``, in one query per target
    model, and set each on its object (as ``select_related`` would have: the base manager, the objects' own
    database). The records a path passes through must already be loaded (joined) and the key columns not deferred,
    or each object costs a query of its own; a null key stays None."""
    attach_all([(objs, paths)])


def attach_all(groups: Iterable[tuple[Iterable[models.Model], Sequence[str]]]) -> None:
    """:func:`attach` for several lists of records at once, of one model each (a session, its events, its
    readings...): one query per target model for all of them, not one per list (a page naming the same few people
    on every row of ten lists read them in one query, not ten joins)."""
    wanted: dict[type[models.Model], set] = defaultdict(set)
    slots = []  # (parent object, field, key)
    db = None
    for objs, paths in groups:
        objs = [o for o in objs if o is not None]
        if not objs or not paths:
            continue
        model = type(objs[0])
        db = db or objs[0]._state.db
        for path in paths:
            parent_path = path.rpartition("__")[0]
            field = _field(model, path)
            for o in objs:
                parent = o
                for step in parent_path.split("__") if parent_path else ():
                    parent = getattr(parent, step)
                    if parent is None:
                        break
                if parent is None:
                    continue
                key = getattr(parent, field.attname)
                if key is not None:
                    wanted[field.related_model].add(key)
                slots.append((parent, field, key))
    if not slots:
        return
    found = {target: target._base_manager.db_manager(db).in_bulk(keys) for target, keys in wanted.items()}
    for parent, field, key in slots:
        field.set_cached_value(parent, found[field.related_model].get(key) if key is not None else None)


def _field(model: type[models.Model], path: str):
    field = None
    for step in path.split("__"):
        field = model._meta.get_field(step)
        model = field.related_model
    return field


def _target(model: type[models.Model], path: str) -> type[models.Model]:
    return _field(model, path).related_model


def rows[M: models.Model](model: type[M], fields: Sequence[str], where: str, params: Sequence[object], *,
                          for_update: bool = False, using: str | None = None,
                          tables: tuple[type[models.Model], ...] = ()) -> list[M]:
    """The rows of ``model`` that ``where`` selects, with just ``fields`` (attribute names; the others load when
    first read, as with ``only()``). ``where`` is SQL in which ``{t}`` stands for the model's quoted table,
    ``{name}`` for the quoted column of its field ``name`` and, for each model of ``tables``, ``{<its db_table>}``
    for that model's quoted table; its values are ``%s`` placeholders bound to ``params`` (as the database takes
    them: a field's ``get_db_prep_value``).
    ``for_update``: the rows are locked until the transaction ends (PostgreSQL ``FOR UPDATE``, of this table only;
    SQLite, which has no row locks, holds the whole database for a writing transaction already). Values come
    back through the fields' converters, as the ORM's do. The statement is built once per shape and database:
    ``using``, else the router's (its database for writes when the rows are locked, as the ORM's locks go)."""
    using = using or (router.db_for_write(model) if for_update else router.db_for_read(model))
    sql = _statement(model, tuple(fields), where, for_update, using, tables)
    return list(model._base_manager.db_manager(using).raw(sql, params))


def children[M: models.Model](model: type[M], fk: str, key: object, *, using: str | None = None) -> list[M]:
    """What ``parent.<related>.all()`` reads: every row of ``model`` whose foreign key ``fk`` is ``key``, whole, in
    the model's ``Meta.ordering``, by a statement written once (:func:`rows`). The ORM built and compiled such a
    read anew each time, about 0.33 ms against 0.08 ms (the cockpit reads seven lists of its session so)."""
    return rows(model, every_column(model), _children_where(model, fk), [key], using=using)


@functools.cache
def every_column(model: type[models.Model]) -> tuple[str, ...]:
    """The attribute names of all of ``model``'s columns, for :func:`rows` to read its rows whole."""
    return tuple(f.attname for f in model._meta.concrete_fields)


@functools.cache
def _children_where(model: type[models.Model], fk: str) -> str:
    opts = model._meta
    order = []
    for name in opts.ordering:
        if not isinstance(name, str) or name.lstrip("-") == "?":
            raise ValueError(f"{opts.label}'s ordering {name!r} is not a field name: read it with the ORM")
        field = opts.pk if name.lstrip("-") == "pk" else opts.get_field(name.lstrip("-"))
        if field.is_relation and name.lstrip("-") != field.attname:  # the ORM orders by the related model's ordering
            raise ValueError(f"{opts.label}'s ordering {name!r} follows a relation: read it with the ORM")
        order.append("{" + field.attname + "}" + (" DESC" if name.startswith("-") else ""))
    return "{" + opts.get_field(fk).attname + "} = %s" + (" ORDER BY " + ", ".join(order) if order else "")


@functools.cache
def _statement(model: type[models.Model], fields: tuple[str, ...], where: str, for_update: bool, using: str,
               tables: tuple[type[models.Model], ...]) -> str:
    connection = connections[using]
    q = connection.ops.quote_name
    opts = model._meta
    columns = {f.name: q(f.column) for f in opts.concrete_fields} | {f.attname: q(f.column) for f in opts.concrete_fields}
    if opts.pk.attname not in fields:
        fields = (opts.pk.attname, *fields)  # raw() needs the key
    select = ", ".join(columns[f] for f in fields)
    lock = " FOR UPDATE" if for_update and connection.features.has_select_for_update else ""
    names = {other._meta.db_table: q(other._meta.db_table) for other in tables}
    if clash := ({"t"} | names.keys()) & columns.keys():
        raise ValueError(f"{sorted(clash)} names both a column of {opts.label} and a table: rename the placeholder")
    return f"SELECT {select} FROM {q(opts.db_table)} WHERE {where.format(t=q(opts.db_table), **names, **columns)}{lock}"
