"""``counterfeit doctor``: can every channel run on this install, and if not, the one command that fixes it.

Why a command and not just error signals: a channel that cannot run says "not run" on every verdict and counts
neither for nor against, so a broken install (a missing model file, an OCR package without its models, OpenCV
installed twice) quietly lowers recall instead of failing. Doctor loads what the settings select (the image
model with its checksum, the OCR sessions, the barcode decoder on a generated QR code, Cloud Vision credentials
when that backend is selected) and checks the optional parts (Chromium for listing screenshots, Java and the
emulator jars for the local cloud stack).

Exit codes: 0 every selected channel can run; 5 a selected channel cannot (with ``--all``: also an optional
part is missing); 2 bad arguments or settings. (1 is Python's own code for a crash, so it is not reused.)
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import importlib.util
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from common.settings import Settings, get_settings

EXIT_NOT_READY = 5
OCR_PIN = "rapidocr>=3.10,<3.11"
PIP_FIX = {  # import name -> the pip command that installs it as pyproject declares it
    "onnxruntime": "pip install 'onnxruntime>=1.19'",
    "cv2": "pip install --force-reinstall 'opencv-python-headless>=4.10'",
    "pdqhash": "pip install 'pdqhash>=0.2.7'",
    "imagehash": "pip install 'imagehash>=4.3'",
    "rapidocr": f"pip install '{OCR_PIN}'",
    "google.cloud.vision": "pip install 'google-cloud-vision>=3.7'",
    "gcp_storage_emulator": "pip install 'gcp-storage-emulator>=2024.8.3'",
}


@dataclass(frozen=True)
class Check:
    channel: str  # the pipeline step that needs this part
    part: str
    required: bool  # the current settings select a channel that cannot run without it
    ok: bool
    detail: str
    fix: str = ""  # one command; empty when ok or nothing to fix


def _import_fix(exc: ImportError) -> str:
    name = exc.name or ""
    for module, fix in PIP_FIX.items():
        if name == module or name.startswith(module + "."):
            return fix
    return f"pip install --force-reinstall {name}" if name else "pip install --force-reinstall -e ."


def _run(channel: str, part: str, required: bool, probe: Callable[[], tuple[str, str]]) -> Check:
    """``probe`` returns (detail, fix); a non-empty fix means not ready. Never lets an exception out."""
    try:
        detail, fix = probe()
    except ImportError as exc:
        return Check(channel, part, required, False, f"cannot import {exc.name or exc}", _import_fix(exc))
    except Exception as exc:  # noqa: BLE001 - a broken part is a finding, not a crash of the doctor
        return Check(channel, part, required, False, f"{type(exc).__name__}: {exc}", "see the detail")
    return Check(channel, part, required, not fix, detail, fix)


def _hashing() -> tuple[str, str]:
    import imagehash
    import numpy as np
    import pdqhash
    from PIL import Image

    img = np.zeros((64, 64, 3), np.uint8)
    img[16:48, 16:48] = 255
    pdqhash.compute(img)
    imagehash.phash(Image.fromarray(img))
    return f"pdqhash {_version('pdqhash')}, imagehash {_version('imagehash')}: hashed a test image", ""


def _embedding(settings: Settings) -> tuple[str, str]:
    if settings.model_endpoint:
        from common.embedding.client import HttpModelClient
        from common.errors import ModelUnavailable

        try:
            health = HttpModelClient(settings.model_endpoint).health()
        except ModelUnavailable as exc:
            return str(exc), (
                "start the model server (python -m common.embedding.server --port 8090) or unset MODEL_ENDPOINT_URL"
            )
        return f"model endpoint {settings.model_endpoint}: {health.get('status', health)}", ""
    from common.embedding.encoder import OnnxEncoder
    from common.embedding.manifest import ManifestError, default_manifest_path, load_manifest, model_fix

    path = default_manifest_path(settings)
    try:
        encoder = OnnxEncoder(load_manifest(path))  # verifies the sha256, then opens the ONNX session
    except ManifestError as exc:
        message = str(exc)
        detail, _, fix = message.partition("; fix: ")
        return detail, fix or model_fix(path)
    m = encoder.manifest
    return f"{m.name}@{m.version} ({m.output_dim}-d): {m.model_path}, sha256 ok, loaded", ""


def _ocr() -> tuple[str, str]:
    from PIL import Image

    from common.vision.ocr import OcrUnavailable, RapidOcrEngine, ocr_models

    try:
        models = ocr_models()
        engine = RapidOcrEngine(models)
        engine.load()  # sha256 against rapidocr's registry, then both ONNX sessions
        engine.read(Image.new("RGB", (96, 48), "white"))
    except OcrUnavailable as exc:
        detail, _, fix = str(exc).partition("; fix: ")
        return detail, fix or PIP_FIX["rapidocr"]
    return f"rapidocr {_version('rapidocr')} {models.version}: {models.det.parent}, sha256 ok, loaded", ""


def _opencv() -> tuple[str, str]:
    installed = {name for name in ("opencv-python", "opencv-python-headless") if _version(name) != "-"}
    if "opencv-python" in installed and "opencv-python-headless" in installed:
        return (
            "opencv-python and opencv-python-headless are both installed (they overwrite each other's cv2)",
            "pip uninstall -y opencv-python && pip install --force-reinstall 'opencv-python-headless>=4.10'",
        )
    import cv2

    return f"cv2 {cv2.__version__} from {', '.join(sorted(installed)) or 'an unknown distribution'}", ""


def _barcode() -> tuple[str, str]:
    from common.vision.barcode import decode_codes
    from common.vision.synthetic import qr_image

    codes = decode_codes(qr_image("counterfeit-doctor"))
    if not any(c.kind == "QR" and c.value == "counterfeit-doctor" for c in codes):
        return "OpenCV did not decode a generated QR code", PIP_FIX["cv2"]
    return "decoded a generated QR code (zxing-cpp)", ""


def _cloud_vision(settings: Settings) -> tuple[str, str]:
    importlib.import_module("google.cloud.vision")
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        credentials, project = google.auth.default()
    except DefaultCredentialsError as exc:
        return f"no Google credentials ({str(exc).splitlines()[0]})", "gcloud auth application-default login"
    who = getattr(credentials, "service_account_email", None) or type(credentials).__name__
    return f"credentials {who}, project {project or settings.project}", ""


def _chromium() -> tuple[str, str]:
    from common.evidence.screenshot import find_chromium

    binary = find_chromium()
    if binary is None:
        return "no chromium: evidence bundles are written without the listing screenshot", (
            "sudo apt-get install -y chromium"
        )
    if importlib.util.find_spec("playwright") is None:  # drives chromium (common.evidence.screenshot)
        return f"{binary}, but playwright is not installed", "pip install playwright"
    return f"{binary} through playwright {_version('playwright')}", ""


def _java() -> tuple[str, str]:
    from common.emulator_paths import JAVA_FIX

    java = shutil.which("java")
    return (java, "") if java else ("no java on PATH", JAVA_FIX)


def _firestore_jar() -> tuple[str, str]:
    from common.emulator_paths import FIRESTORE_FIX, FIRESTORE_JAR

    return (
        (str(FIRESTORE_JAR), "") if FIRESTORE_JAR.is_file() else (f"{FIRESTORE_JAR} missing", FIRESTORE_FIX)
    )


def _pubsub_jar() -> tuple[str, str]:
    from common.emulator_paths import PUBSUB_FIX, PUBSUB_LIB, pubsub_jar

    jar = pubsub_jar()
    return (str(jar), "") if jar else (f"no cloud-pubsub-emulator-*-all.jar under {PUBSUB_LIB}", PUBSUB_FIX)


def _storage_emulator() -> tuple[str, str]:
    if importlib.util.find_spec("gcp_storage_emulator") is None:
        return "gcp-storage-emulator not installed", PIP_FIX["gcp_storage_emulator"]
    return f"gcp-storage-emulator {_version('gcp-storage-emulator')}", ""


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


def run_checks(settings: Settings) -> list[Check]:
    local_vision = settings.vision_backend == "local"
    checks = [
        _run("hash_match", "PDQ + pHash", True, _hashing),
        _run("embed", "image model", True, lambda: _embedding(settings)),
        _run("logo_ocr", "OpenCV (logo, barcode)", True, _opencv),
        _run("logo_ocr", "barcode/QR decoder", True, _barcode),
    ]
    if local_vision:
        checks.append(_run("logo_ocr", "OCR models", True, _ocr))
        checks.append(
            Check(
                "logo_ocr",
                "Cloud Vision credentials",
                False,
                True,
                "not selected (COUNTERFEIT_VISION_BACKEND=local)",
            )
        )
    else:
        checks.append(_run("logo_ocr", "Cloud Vision credentials", True, lambda: _cloud_vision(settings)))
    checks += [
        _run("evidence", "chromium (listing screenshots)", False, _chromium),
        _run("local stack", "java", False, _java),
        _run("local stack", "Firestore emulator jar", False, _firestore_jar),
        _run("local stack", "Pub/Sub emulator jar", False, _pubsub_jar),
        _run("local stack", "storage emulator", False, _storage_emulator),
    ]
    return checks


def exit_code(checks: list[Check], strict: bool = False) -> int:
    return EXIT_NOT_READY if any(not c.ok and (c.required or strict) for c in checks) else 0


def print_report(checks: list[Check], settings: Settings) -> None:
    model = settings.model_endpoint or "in-process"
    print(
        f"counterfeit doctor: backend {settings.backend}, vision {settings.vision_backend}, image model {model}"
    )
    for c in checks:
        status = "ok" if c.ok else ("MISSING" if c.required else "optional")
        print(f"{status:<9} {c.channel:<12} {c.part:<32} {c.detail}")
        if not c.ok:
            print(f"{'':<9} {'':<12} {'fix:':<32} {c.fix}")
    broken = [c for c in checks if not c.ok and c.required]
    if broken:
        print(f"{len(broken)} selected part(s) cannot run: {', '.join(sorted({c.channel for c in broken}))}")
    else:
        print("every channel the settings select can run")


def _cmd_doctor(args: argparse.Namespace) -> int:
    settings = get_settings()
    checks = run_checks(settings)
    code = exit_code(checks, strict=args.all)
    if args.json:
        report: dict[str, Any] = {"ready": code == 0, "checks": [asdict(c) for c in checks]}
        sys.stdout.write(json.dumps(report, ensure_ascii=False) + "\n")
    else:
        print_report(checks, settings)
    return code


def register_cli(subparsers: Any) -> None:
    from common.cli_help import EXIT_OK, EXIT_USAGE, add_command

    p = add_command(
        subparsers,
        "doctor",
        help="check that every channel can run on this install, with the command that fixes what is missing",
        examples=[
            "counterfeit doctor",
            "counterfeit doctor --json",
            "COUNTERFEIT_VISION_BACKEND=cloud counterfeit doctor",
        ],
        exit_codes=(EXIT_OK, EXIT_USAGE),
        extra_exit_codes={
            EXIT_NOT_READY: "doctor: a channel the settings select cannot run (with --all: or an optional part "
            "is missing)"
        },
    )
    p.add_argument("--json", action="store_true", help="print one JSON object: ready, and every check")
    p.add_argument(
        "--all",
        action="store_true",
        help="also fail on optional parts (screenshots, the local emulator stack)",
    )
    p.set_defaults(func=_cmd_doctor)
