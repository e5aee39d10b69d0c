"""scripts/build_function_sources.py: each archive holds what its function needs and is reproducible."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

from _infra_hcl import ROOT, function_dirs

_spec = importlib.util.spec_from_file_location(
    "build_function_sources", ROOT / "scripts/build_function_sources.py"
)
assert _spec and _spec.loader
builder = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = builder  # dataclasses look their module up while the class is made
_spec.loader.exec_module(builder)


def _names(archive: Path) -> set[str]:
    with zipfile.ZipFile(archive) as zf:
        return set(zf.namelist())


def _read(archive: Path, name: str) -> bytes:
    with zipfile.ZipFile(archive) as zf:
        return zf.read(name)


def test_function_names_are_read_from_the_directory() -> None:
    assert builder.function_names(ROOT / "functions") == function_dirs()


def test_archive_has_handler_common_manifests_and_requirements(tmp_path: Path) -> None:
    name = function_dirs()[0]
    [archive] = builder.build([name], tmp_path)
    names = _names(archive.path)
    assert _read(archive.path, "main.py") == (ROOT / "functions" / name / "main.py").read_bytes()
    expected_common = {
        "common/" + p.relative_to(ROOT / "common").as_posix()
        for p in (ROOT / "common").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert expected_common <= names
    assert {f"common/models/{p.name}" for p in (ROOT / "common" / "models").glob("*.json")} <= names
    assert not any(n.endswith((".pyc", ".onnx")) or "__pycache__" in n for n in names)
    assert archive.sha256 == hashlib.sha256(archive.path.read_bytes()).hexdigest()


def test_requirements_are_the_project_dependencies(tmp_path: Path) -> None:
    [archive] = builder.build(["fuse"], tmp_path)
    lines = [
        line
        for line in _read(archive.path, "requirements.txt").decode().splitlines()
        if line and not line.startswith("#")
    ]
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(lines) == sorted(declared)
    assert not any(line.split(">")[0].split("=")[0].strip() == "opencv-python" for line in lines)
    assert any(line.startswith("functions-framework") for line in lines)


def test_logo_ocr_gets_rapidocr_from_its_requirements_not_a_vendored_copy(tmp_path: Path) -> None:
    [archive] = builder.build(["logo_ocr"], tmp_path)
    names = _names(archive.path)
    assert not any(n.startswith(("rapidocr", "rapidocr_onnxruntime")) for n in names)
    requirements = _read(archive.path, "requirements.txt").decode().splitlines()
    assert any(line.startswith("rapidocr>=3.10") for line in requirements)  # brings its own PP-OCRv6 models


def test_archives_are_reproducible_and_change_with_content(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "common", repo / "common", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(
        ROOT / "functions" / "fuse", repo / "functions" / "fuse", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", repo)

    first = builder.build(["fuse"], tmp_path / "a", repo)[0].sha256
    again = builder.build(["fuse"], tmp_path / "b", repo)[0].sha256
    assert first == again  # same content, same bytes, same object name in the bucket: no redeploy

    handler = repo / "functions" / "fuse" / "main.py"
    handler.write_text(handler.read_text() + "\n# changed\n")
    changed = builder.build(["fuse"], tmp_path / "c", repo)[0].sha256
    assert changed != first  # new content, new object name: Terraform redeploys


def test_manifest_records_each_build(tmp_path: Path) -> None:
    import json

    builder.build(["fuse"], tmp_path)
    builder.build(["review"], tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert set(manifest) == {"fuse", "review"}
    assert manifest["review"] == hashlib.sha256((tmp_path / "review.zip").read_bytes()).hexdigest()
