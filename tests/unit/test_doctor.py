"""`counterfeit doctor` and what a user sees when a model is missing: a message with the fix and exit codes,
never a traceback; `scan` summarises on stderr which channels did not run."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from common import cli, doctor
from common.embedding.manifest import DEFAULT_MANIFEST, load_manifest
from common.scan_summary import ChannelTally
from common.settings import get_settings
from tests.support.kits import pattern_image, tiny_kit


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    for var in (
        "COUNTERFEIT_MODELS_DIR",
        "COUNTERFEIT_VISION_BACKEND",
        "MODEL_ENDPOINT_URL",
        "COUNTERFEIT_BRANDS",
    ):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()

    def setenv(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        get_settings.cache_clear()

    yield setenv
    get_settings.cache_clear()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _by_part(report: dict) -> dict[str, dict]:
    return {c["part"]: c for c in report["checks"]}


def test_healthy_install_is_ready(env, capsys):
    code, out, _ = run(capsys, "doctor", "--json")
    report = json.loads(out)
    assert code == 0 and report["ready"] is True
    parts = _by_part(report)
    for part in ("PDQ + pHash", "image model", "OCR models", "barcode/QR decoder", "OpenCV (logo, barcode)"):
        assert parts[part]["ok"] and parts[part]["required"], parts[part]
    assert "sha256 ok, loaded" in parts["image model"]["detail"]
    assert "PP-OCRv6" in parts["OCR models"]["detail"]
    code, out, _ = run(capsys, "doctor")
    assert code == 0 and "every channel the settings select can run" in out


def test_missing_model_dir_is_not_ready_and_names_the_fix(env, capsys, tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    env("COUNTERFEIT_MODELS_DIR", str(empty))
    code, out, _ = run(capsys, "doctor", "--json")
    check = _by_part(json.loads(out))["image model"]
    assert code == doctor.EXIT_NOT_READY and not check["ok"] and check["required"]
    assert "is missing" in check["detail"] and "unset COUNTERFEIT_MODELS_DIR" in check["fix"]
    code, out, _ = run(capsys, "doctor")
    assert code == doctor.EXIT_NOT_READY and "MISSING   embed" in out and "fix:" in out


def test_damaged_model_file_is_reported_with_the_fix(env, capsys, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(DEFAULT_MANIFEST, models)
    onnx = load_manifest(DEFAULT_MANIFEST).model_path
    (models / onnx.name).write_bytes(onnx.read_bytes()[:4096])
    env("COUNTERFEIT_MODELS_DIR", str(models))
    code, out, _ = run(capsys, "doctor", "--json")
    check = _by_part(json.loads(out))["image model"]
    assert code == doctor.EXIT_NOT_READY and "is damaged" in check["detail"] and check["fix"]


def test_cloud_vision_selected_without_credentials_is_not_ready(env, capsys, tmp_path):
    env("COUNTERFEIT_VISION_BACKEND", "cloud")
    env("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "no-such-key.json"))
    code, out, _ = run(capsys, "doctor", "--json")
    parts = _by_part(json.loads(out))
    assert code == doctor.EXIT_NOT_READY
    assert parts["Cloud Vision credentials"]["required"] and not parts["Cloud Vision credentials"]["ok"]
    assert parts["Cloud Vision credentials"]["fix"] == "gcloud auth application-default login"
    assert "OCR models" not in parts  # the local OCR is not what this backend runs


def test_opencv_installed_twice_is_a_finding(env, monkeypatch):
    monkeypatch.setattr(doctor, "_version", lambda dist: "4.10.0")
    check = doctor._run("logo_ocr", "OpenCV", True, doctor._opencv)
    assert not check.ok and check.fix.startswith("pip uninstall -y opencv-python ")


def test_optional_parts_only_fail_with_all(env, capsys, monkeypatch):
    import common.evidence.screenshot as screenshot

    monkeypatch.setattr(screenshot, "find_chromium", lambda: None)
    code, out, _ = run(capsys, "doctor")
    assert code == 0 and "optional  evidence" in out and "sudo apt-get install -y chromium" in out
    code, _, _ = run(capsys, "doctor", "--all")
    assert code == doctor.EXIT_NOT_READY


def test_a_failing_probe_is_a_finding_not_a_crash():
    def boom() -> tuple[str, str]:
        raise RuntimeError("kaput")

    def missing() -> tuple[str, str]:
        import onnxruntime_not_here  # noqa: F401

        return "", ""

    assert doctor._run("x", "y", True, boom) == doctor.Check(
        "x", "y", True, False, "RuntimeError: kaput", "see the detail"
    )
    check = doctor._run("x", "y", True, missing)
    assert not check.ok and check.fix.startswith("pip install")


def test_brand_add_without_the_model_exits_2_with_the_fix(env, capsys, tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    env("COUNTERFEIT_MODELS_DIR", str(empty))
    code, out, err = run(capsys, "brand", "add", str(tiny_kit(tmp_path / "kit")))
    assert code == 2
    assert err.startswith("counterfeit: error: ") and "is missing; fix: unset COUNTERFEIT_MODELS_DIR" in err
    assert "Traceback" not in err


def test_scan_summarises_channels_that_did_not_run_on_stderr(env, capsys, tmp_path):
    assert run(capsys, "brand", "add", str(tiny_kit(tmp_path / "kit")))[0] == 0
    cand = tmp_path / "cand.jpg"
    pattern_image(7).save(cand, "JPEG")
    empty = tmp_path / "no-models"
    empty.mkdir()
    env("COUNTERFEIT_MODELS_DIR", str(empty))
    code, out, err = run(capsys, "scan", "--brand", "acme", "--json", str(cand))
    record = json.loads(out.splitlines()[0])
    assert code == 0 and record["signals"]["embedding"]["status"] == "not_run"  # --json records as before
    assert "channels that did not run in this batch:" in err
    assert "embedding did not run on 1/1 item(s): image model unavailable: model manifest" in err
    assert "counterfeit doctor" in err


def test_tally_skips_short_circuit_skips_and_counts_reasons():
    tally = ChannelTally()

    def rec(**signals):
        return {"signals": {n: {"status": s, "reason": r} for n, (s, r) in signals.items()}}

    for record in [
        rec(ocr_text=("error", "OCR failed: OcrUnavailable: x"), logo=("not_run", "skipped: hash decided")),
        rec(ocr_text=("error", "OCR failed: OcrUnavailable: y"), spi=("not_run", "listing has no SpI")),
        rec(ocr_text=("clear", "no text")),
        {"listing_id": "bad", "error": "preprocess: corrupt"},
    ]:
        tally.observe(record)
    lines = tally.summary_lines()
    assert (
        lines[1] == "  ocr_text failed on 2/3 item(s): OCR failed: OcrUnavailable: x (and 1 other reason(s))"
    )
    assert lines[2] == "  spi did not run on 1/3 item(s): listing has no SpI"
    assert not any("logo" in line for line in lines)
    assert ChannelTally().summary_lines() == []
