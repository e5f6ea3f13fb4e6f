"""Helpers for the apps' ``test_models.py``: check-constraint cases, refused writes and cascades.

Bad rows are written with ``QuerySet.update()`` so model validation is bypassed and only the database stands
in the way; each refused write runs in its own savepoint so the test's transaction stays usable.
"""

import threading
from contextlib import contextmanager
from operator import attrgetter

import pytest
from django.db import IntegrityError, connection, transaction


def check_case(factory, constraint, values, label=None):
    """A row of a check-constraint table: ``values`` written over a valid ``factory`` row break ``constraint``."""
    label = label or ",".join(f"{field}={value}" for field, value in values.items())
    return pytest.param(factory, constraint, values, id=f"{constraint}:{label}")


def constraints_of(*models) -> set[str]:
    """The names of every constraint ``models`` declare in their ``Meta``."""
    return {constraint.name for model in models for constraint in model._meta.constraints}


def cased_constraints(cases) -> set[str]:
    """The constraints a table of ``check_case`` rows covers."""
    return {param.values[1] for param in cases}


@contextmanager
def refused_by(constraint: str):
    """The block's write must be refused by the database, naming ``constraint``."""
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        yield


def assert_check_rejects(factory, constraint, values):
    """Writing ``values`` over a valid ``factory`` row is refused by ``constraint`` (a ``check_case`` row)."""
    row = factory()
    with refused_by(constraint):
        factory._meta.model._base_manager.filter(pk=row.pk).update(**values)


def assert_deleting_parent_deletes(factory, parent_path: str):
    """Deleting the row at ``parent_path`` ("asset.user") of a ``factory`` row removes that row too, soft or not."""
    row = factory()
    attrgetter(parent_path)(row).delete()
    assert not type(row)._base_manager.filter(pk=row.pk).exists()


def run_in_threads(target, count: int) -> list[Exception]:
    """Call ``target`` in ``count`` threads at once (each with its own connection); the exceptions they raised."""
    errors = []

    def run():
        try:
            target()
        except Exception as error:  # collected for the caller to assert on
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors
