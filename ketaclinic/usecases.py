"""One use case, one durable transaction: the decorator every app's services use.

Calling a use case runs its steps (validate, lock, write, audit) in ``transaction.atomic(durable=True)``: it
commits when the call returns, and it refuses to run inside another transaction (RuntimeError), so no caller folds
two use cases into one transaction by accident. (Django's TestCase, and so pytest-django's ``db`` fixture, marks its
own wrapping transaction so durable blocks still run inside a test.)

``<use case>.within(...)`` runs the same steps inside the caller's transaction (a savepoint), for a use case composed
into another: signing inside writing an order, each booking inside a series booking, the demo loader seeding the
whole clinic in one transaction.

A use case that refuses but must keep a record of the refusal (a verification by the preparer) returns
:class:`Refused`: the transaction commits with the refusal's audit entry, then the error is raised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from django.db import transaction


class Refused:
    """A refusal whose audit entry is committed before ``error`` is raised to the caller."""

    def __init__(self, error: Exception):
        self.error = error


class UseCase[**P, R]:
    def __init__(self, steps: Callable[P, R]):
        self.steps = steps
        functools.update_wrapper(self, steps)

    def _run(self, atomic: transaction.Atomic, args, kwargs) -> R:
        with atomic:
            result = self.steps(*args, **kwargs)
        if isinstance(result, Refused):
            raise result.error
        return result

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._run(transaction.atomic(durable=True), args, kwargs)

    def within(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._run(transaction.atomic(), args, kwargs)

    def __repr__(self) -> str:
        return f"<use case {self.__module__}.{self.__name__}>"


def use_case[**P, R](steps: Callable[P, R]) -> UseCase[P, R]:
    """Mark ``steps`` as one use case in its own durable transaction (see the module's docstring)."""
    return UseCase(steps)
