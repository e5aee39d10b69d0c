"""The hostile corpus, generated once per session by ``scripts/make_hostile_corpus.py`` (deterministic)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.local_functions import local_backend  # noqa: E402,F401


def load_generator() -> Any:
    name = "make_hostile_corpus"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "make_hostile_corpus.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses need the module registered while it executes
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def hostile_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile")
    load_generator().build(out)
    return out


@pytest.fixture(scope="session")
def image_cases(hostile_corpus: Path) -> list[dict[str, str]]:
    manifest = json.loads((hostile_corpus / "manifest.json").read_text())
    return [c for c in manifest if c["kind"] == "image"]


@pytest.fixture(scope="session")
def fuzz_script() -> Any:
    """``scripts/fuzz.py`` as a module (its seed writer is reused by the regression test)."""
    name = "counterfeit_fuzz_script"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "fuzz.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
