"""What `terraform validate` would catch without the provider: references that resolve and module interfaces
that match. (Provider-side checks — resource argument names — still need `terraform validate`, see
docs/deploy.md.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from _infra_hcl import INFRA, load

MODULE_DIRS = [INFRA, *sorted(p for p in (INFRA / "modules").iterdir() if p.is_dir())]
NAME = r"[A-Za-z_][A-Za-z0-9_-]*"


def _code(path: Path) -> str:
    """The file without comment lines and trailing comments (references in prose do not count)."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("#", "//")):
            continue
        lines.append(re.sub(r"\s#\s.*$", "", line))
    return "\n".join(lines)


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.tf"))


def _blocks(directory: Path, kind: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for path in _files(directory):
        for block in load(str(path.relative_to(INFRA))).get(kind, []):
            out.update(block)
    return out


def _locals(directory: Path) -> set[str]:
    names: set[str] = set()
    for path in _files(directory):
        for block in load(str(path.relative_to(INFRA))).get("locals", []):
            names.update(block)
    return names


def _resources(directory: Path, kind: str = "resource") -> set[str]:
    names = set()
    for path in _files(directory):
        for block in load(str(path.relative_to(INFRA))).get(kind, []):
            for rtype, by_name in block.items():
                names.update(f"{rtype}.{name}" for name in by_name)
    return names


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=lambda p: p.name)
def test_variable_and_local_references_resolve(directory: Path) -> None:
    variables = set(_blocks(directory, "variable"))
    local_names = _locals(directory)
    for path in _files(directory):
        code = _code(path)
        for name in re.findall(rf"\bvar\.({NAME})", code):
            assert name in variables, f"{path.relative_to(INFRA)}: var.{name} is not declared"
        for name in re.findall(rf"\blocal\.({NAME})", code):
            assert name in local_names, f"{path.relative_to(INFRA)}: local.{name} is not defined"


@pytest.mark.parametrize("directory", MODULE_DIRS, ids=lambda p: p.name)
def test_resource_and_data_references_resolve(directory: Path) -> None:
    resources = _resources(directory)
    data = _resources(directory, "data")
    for path in _files(directory):
        code = _code(path)
        for rtype, name in re.findall(rf"(?<!data\.)\b(google(?:_[a-z0-9]+)+)\.({NAME})\b", code):
            assert f"{rtype}.{name}" in resources, (
                f"{path.relative_to(INFRA)}: {rtype}.{name} is not declared"
            )
        for rtype, name in re.findall(rf"\bdata\.({NAME})\.({NAME})", code):
            assert f"{rtype}.{name}" in data, (
                f"{path.relative_to(INFRA)}: data.{rtype}.{name} is not declared"
            )


def test_module_calls_match_module_interfaces() -> None:
    calls = _blocks(INFRA, "module")
    meta = {"source", "for_each", "count", "depends_on", "providers"}
    for name, call in calls.items():
        source = INFRA / call["source"]
        assert source.is_dir(), f"module {name}: {call['source']} does not exist"
        declared = _blocks(source, "variable")
        given = set(call) - meta
        unknown = given - set(declared)
        assert not unknown, f"module {name} passes undeclared variables {sorted(unknown)}"
        required = {v for v, spec in declared.items() if "default" not in spec}
        missing = required - given
        assert not missing, f"module {name} lacks required variables {sorted(missing)}"


def test_module_output_references_exist() -> None:
    calls = _blocks(INFRA, "module")
    outputs = {name: set(_blocks(INFRA / call["source"], "output")) for name, call in calls.items()}
    for path in _files(INFRA):
        for module, output in re.findall(rf"\bmodule\.({NAME})(?:\[[^\]]+\])?\.({NAME})", _code(path)):
            assert module in outputs, f"{path.name}: module.{module} is not called"
            assert output in outputs[module], f"{path.name}: module.{module} has no output {output}"


def test_providers_are_pinned() -> None:
    terraform = load("versions.tf")["terraform"][0]
    providers = (
        terraform["required_providers"][0]
        if isinstance(terraform["required_providers"], list)
        else (terraform["required_providers"])
    )
    for name in ("google", "google-beta"):
        assert providers[name]["source"] == f"hashicorp/{name}"
        assert "<" in providers[name]["version"], f"{name}: pin an upper bound (major version)"
