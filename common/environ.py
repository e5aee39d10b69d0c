"""``os.environ`` overridden for a block and restored afterwards.

Why one helper: a spawned child (a scan worker, an emulator, a function process) inherits the environment at its
start, so settings meant for it are set around the start; and tests must not leak one stack's addresses into the
next. Variables that were unset before are removed again, not left empty.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping


@contextlib.contextmanager
def overridden(values: Mapping[str, str]) -> Iterator[None]:
    """``os.environ`` with ``values`` for the duration, restored afterwards (also when the block raises)."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
