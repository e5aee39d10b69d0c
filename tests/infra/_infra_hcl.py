"""Read the Terraform under infra/ as data (PyPI ``python-hcl2``) for the consistency tests.

Terraform is not evaluated here (the Google provider is not available offline): literal values come back as
Python values, expressions as their source text wrapped in ``${...}``. The tests compare literals with the code
and check that expressions reference what they must.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
FUNCTIONS_DIR = ROOT / "functions"

_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False, explicit_blocks=False)


@cache
def load(relative: str) -> dict[str, Any]:
    """One .tf file (path relative to infra/) as a dict."""
    with (INFRA / relative).open(encoding="utf-8") as fh:
        return hcl2.load(fh, serialization_options=_OPTIONS)


def tf_files() -> list[Path]:
    return sorted(p for p in INFRA.rglob("*.tf") if ".terraform" not in p.parts)


def locals_of(relative: str) -> dict[str, Any]:
    """All ``locals`` blocks of a file merged into one dict."""
    merged: dict[str, Any] = {}
    for block in load(relative).get("locals", []):
        merged.update(block)
    return merged


def module_call(name: str, relative: str = "main.tf") -> dict[str, Any]:
    for block in load(relative).get("module", []):
        if name in block:
            return block[name]
    raise KeyError(f"no module {name!r} in infra/{relative}")


def resource(kind: str, name: str, relative: str) -> dict[str, Any]:
    for block in load(relative).get("resource", []):
        if kind in block and name in block[kind]:
            return block[kind][name]
    raise KeyError(f"no resource {kind}.{name} in infra/{relative}")


def variable_default(name: str, relative: str = "variables.tf") -> Any:
    for block in load(relative).get("variable", []):
        if name in block:
            return block[name].get("default")
    raise KeyError(f"no variable {name!r} in infra/{relative}")


def single(block: Any) -> dict[str, Any]:
    """A nested block (``retry_policy { ... }``) comes back as a one-element list."""
    assert isinstance(block, list) and len(block) == 1, f"expected exactly one block, got {block!r}"
    return block[0]


def is_expression(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("${") and value.endswith("}")


def function_dirs() -> list[str]:
    """Functions as they exist right now (the directory is read at test time)."""
    return sorted(p.name for p in FUNCTIONS_DIR.iterdir() if (p / "main.py").is_file())


def handler_signature(name: str) -> str | None:
    """ "cloud_event" or "http": the functions-framework decorator on ``def <name>`` in functions/<name>/main.py."""
    tree = ast.parse((FUNCTIONS_DIR / name / "main.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            for deco in node.decorator_list:
                target = deco.func if isinstance(deco, ast.Call) else deco
                if isinstance(target, ast.Attribute) and target.attr in ("cloud_event", "http"):
                    return target.attr
            return "undecorated"
    return None


def settings_env_names(path: Path = ROOT / "common" / "settings.py") -> set[str]:
    """Environment variable names common/settings.py reads: ``env.get("X")`` and helpers called as
    ``helper(env, "X", ...)``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        is_env_get = (
            isinstance(func, ast.Attribute)
            and func.attr == "get"
            and isinstance(func.value, ast.Name)
            and func.value.id == "env"
        )
        passes_env = any(isinstance(a, ast.Name) and a.id == "env" for a in node.args)
        if is_env_get or passes_env:
            names.update(
                a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
            )
    return {n for n in names if n.isupper()}


def published_topics(step_function: str, path: Path = ROOT / "common" / "pipeline.py") -> set[str]:
    """Topic constants (``topics.SCAN_PREPROCESSED`` ...) a pipeline step function returns messages for."""
    from common import topics

    constants = {name: getattr(topics, name) for name in dir(topics) if name.isupper()}
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == step_function:
            return {
                constants[n.attr]
                for n in ast.walk(node)
                if isinstance(n, ast.Attribute)
                and isinstance(n.value, ast.Name)
                and n.value.id == "topics"
                and constants.get(n.attr) in topics.TOPICS
            }
    raise KeyError(f"no {step_function} in {path}")
