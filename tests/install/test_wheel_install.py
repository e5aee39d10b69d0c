"""The install a user gets: the wheel ``python -m build`` makes from a clean checkout, installed with plain
``pip install`` into a fresh venv (no system site-packages, no repository on the path), runs every channel:
``doctor`` is ready, ``brand add`` finds the packaged image model, ``scan`` reads brand text with OCR.

Slow (a build plus a full dependency install, ~1-3 min with pip's cache warm), so marked ``slow``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from common.vision import synthetic as syn
from tests.support.kits import pattern_image, tiny_kit

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "COUNTERFEIT_", "VIRTUAL_ENV"))}
    env.pop("MODEL_ENDPOINT_URL", None)
    env["COUNTERFEIT_HOME"] = str(home)
    return env


def _run(
    argv: list[str], cwd: Path, env: dict[str, str], timeout: float = 900
) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with only the built wheel (and what it declares) installed; returns its bin directory."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs a git checkout to copy the tracked files from")
    work = tmp_path_factory.mktemp("wheel")
    src = work / "src"  # what a clean clone holds: tracked files only, no build leftovers, no .venv
    files = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    for rel in filter(None, files):
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    env = _clean_env(work / "home")
    built = _run([sys.executable, "-m", "build", "--outdir", str(work / "dist"), str(src)], work, env)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    [wheel] = sorted((work / "dist").glob("counterfeit-*.whl"))
    venv = work / "venv"
    assert _run([sys.executable, "-m", "venv", str(venv)], work, env).returncode == 0
    pip = _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", str(wheel)], work, env)
    assert pip.returncode == 0, pip.stdout[-3000:] + pip.stderr[-3000:]
    return venv / "bin"


def _src(installed: Path) -> Path:
    return installed.parent.parent / "src"


def test_wheel_carries_the_model_and_never_opencv_python(installed: Path) -> None:
    listed = _run(
        [str(installed / "python"), "-m", "pip", "list", "--format=json"], installed, dict(os.environ)
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"rapidocr", "opencv-python-headless", "onnxruntime"} <= names
    assert "opencv-python" not in names and "rapidocr-onnxruntime" not in names
    site = _run(
        [str(installed / "python"), "-c", "import common.embedding.manifest as m; print(m.DEFAULT_MANIFEST)"],
        installed.parent,
        _clean_env(installed.parent / "home"),
    )
    manifest = Path(site.stdout.strip())
    assert "site-packages" in manifest.parts and manifest.is_file()
    assert (manifest.parent / "efficientnet-lite0-embed.onnx").stat().st_size > 10_000_000


def test_installed_cli_registers_and_scans_with_every_channel(installed: Path, tmp_path: Path) -> None:
    env = _clean_env(tmp_path / "home")
    kit = tiny_kit(tmp_path / "kit")
    text = tmp_path / "text.png"
    syn.text_image("ACME Rocket Skates", on=syn.background(1, (1000, 750)), font_size=56).save(text)
    copy = tmp_path / "copy.jpg"
    pattern_image(1).save(copy, "JPEG", quality=92)
    cli = str(installed / "counterfeit")

    doctor = _run([cli, "doctor", "--json"], tmp_path, env)
    report = json.loads(doctor.stdout)
    assert doctor.returncode == 0 and report["ready"], doctor.stdout + doctor.stderr
    assert _run([cli, "brand", "add", str(kit)], tmp_path, env).returncode == 0
    scan = _run([cli, "scan", "--brand", "acme", "--json", str(text), str(copy)], tmp_path, env)
    assert scan.returncode == 0, scan.stderr
    records = {Path(r["listing_id"]).stem: r for r in map(json.loads, scan.stdout.splitlines())}
    ocr = records["text"]["signals"]["ocr_text"]
    assert ocr["status"] == "fired" and ocr["detail"].get("rule") in {"exact", "nfkc_casefold"}, ocr
    assert records["text"]["signals"]["embedding"]["status"] in {"fired", "clear"}  # the packaged model ran
    assert records["copy"]["tier"] == 1 and records["copy"]["rule"] == "hash_short_circuit"
    assert "image model unavailable" not in scan.stderr and "OCR failed" not in scan.stderr


def test_editable_install_reads_the_model_from_the_checkout(installed: Path, tmp_path: Path) -> None:
    """Last: replaces the wheel with ``pip install -e`` of the same clean checkout (dependencies already there)."""
    env = _clean_env(tmp_path / "home")
    pip = _run(
        [str(installed / "python"), "-m", "pip", "install", "-q", "-e", str(_src(installed))], tmp_path, env
    )
    assert pip.returncode == 0, pip.stderr[-3000:]
    doctor = _run([str(installed / "counterfeit"), "doctor", "--json"], tmp_path, env)
    model = {c["part"]: c for c in json.loads(doctor.stdout)["checks"]}["image model"]
    assert doctor.returncode == 0 and str(_src(installed) / "common" / "models") in model["detail"], model
