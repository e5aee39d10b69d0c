"""Emulator fixtures shared by every e2e test (and importable by other engineers' emulator tests).

- ``emulators``: Firestore + Pub/Sub + storage emulators only (session); gives ``client_env()``.
- ``emulator_stack``: the full local stack (every function under functions-framework, model endpoint,
  topics, push subscriptions, DLQs), with ``hash_match`` wrapped by ``tests/support/fault_once.py``.
- ``stack_env(stack)``: a context manager that points this process's GCP adapters at a stack.
Both stop everything they started (process groups) at the end of the session.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
FAULTY_STEP = "hash_match"


def _local_stack() -> Any:
    name = "counterfeit_local_stack"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "local_stack.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def emulators_available() -> str | None:
    """Why the emulator stack cannot run here, or None."""
    ls = _local_stack()
    if not ls.FIRESTORE_JAR.exists() or not list(ls.PUBSUB_LIB.glob("cloud-pubsub-emulator-*-all.jar")):
        return "Firestore/Pub/Sub emulators not installed (apt: google-cloud-cli-firestore-emulator, ...-pubsub-emulator)"
    return None


@contextlib.contextmanager
def stack_env(stack: Any) -> Iterator[dict[str, str]]:
    """Set the stack's client environment in os.environ (restored afterwards) and reset cached settings/deps."""
    from common.bootstrap import get_deps
    from common.environ import overridden
    from common.settings import get_settings

    env = stack.client_env()
    try:
        with overridden(env):
            get_settings.cache_clear()
            get_deps.cache_clear()
            yield env
    finally:
        get_settings.cache_clear()
        get_deps.cache_clear()


@pytest.fixture(scope="session")
def emulators(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    why = emulators_available()
    if why:
        pytest.fail(why)
    ls = _local_stack()
    stack = ls.Stack(
        ls.StackConfig(
            home=tmp_path_factory.mktemp("emulators"), fixed_ports=False, functions=(), with_model=False
        )
    )
    stack.start()
    yield stack
    stack.stop()


@pytest.fixture(scope="session")
def emulator_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    why = emulators_available()
    if why:
        pytest.fail(why)
    from tests.support.webhooks import MARKETPLACE, SECRETS

    ls = _local_stack()
    home = tmp_path_factory.mktemp("stack")
    fault_env = {"FAULT_TARGET": FAULTY_STEP, "FAULT_DIR": str(home / "faults")}
    stack = ls.Stack(
        ls.StackConfig(
            home=home,
            fixed_ports=False,
            webhook_secrets={MARKETPLACE: list(SECRETS)},
            function_overrides={FAULTY_STEP: (ROOT / "tests" / "support" / "fault_once.py", fault_env)},
        )
    )
    stack.start()
    stack.fault_dir = home / "faults"
    yield stack
    stack.stop()
