"""Shared fixtures: a fresh embedded-default runtime per test (real SQLite, real filesystem, in-process bus)."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# Fixtures of the discovery tests (loopback APIs, the loopback "public web"), shared by unit and function tests.
pytest_plugins = ["tests.support.discovery_apis"]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture
def runtime(settings: Settings):
    from common.scan import local_runtime

    return local_runtime(settings)


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README demo's data, generated once per test session from package-shipped images."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_demo", ROOT / "scripts" / "make_demo.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path_factory.mktemp("demo")
    module.build(out)
    return out
