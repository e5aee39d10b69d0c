"""Evidence bundles on the embedded default: every file hashed, tampering found, the PDF readable, and the
listing page captured by real headless Chromium from a loopback page."""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from common.bootstrap import Deps, build_deps
from common.errors import FetchRefused
from common.evidence import (
    build_bundle,
    build_bundle_result,
    evidence_doc_path,
    verify_bundle,
    verify_recorded,
)
from common.evidence.screenshot import find_chromium, take_screenshot
from common.messages import Signal, Verdict
from common.settings import Settings
from tests.support.http_server import LoopbackServer
from tests.support.kits import jpeg_bytes, pattern_image

BRAND = "acme"
NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
needs_chromium = pytest.mark.skipif(find_chromium() is None, reason="Debian chromium is not installed")


def seed(tmp_path: Path, *, url: str | None = None, allow_private: bool = False) -> tuple[Deps, Verdict]:
    """A registered kit, a received candidate, its working copy, the scan doc and a Tier-1 verdict."""
    deps = build_deps(Settings(home=tmp_path / "home", fetch_allow_private=allow_private))
    kit = tmp_path / "kit"
    (kit / "references").mkdir(parents=True)
    ref_bytes = jpeg_bytes(pattern_image(3))
    (kit / "references" / "front.jpg").write_bytes(ref_bytes)
    deps.docs.set(
        f"brands/{BRAND}",
        {"display_name": "ACME Motor", "trademarks": ["ACME", "Acme Runner"], "kit_dir": str(kit)},
    )
    deps.docs.set(
        f"brands/{BRAND}/references/reference:front.jpg",
        {"kind": "reference", "filename": "front.jpg", "sha256": hashlib.sha256(ref_bytes).hexdigest()},
    )
    candidate = jpeg_bytes(pattern_image(3, (800, 600)), quality=70)
    generation = deps.blobs.write(
        deps.settings.candidates_bucket, f"{BRAND}/l-1.jpg", candidate, "image/jpeg"
    )
    working = io.BytesIO()
    pattern_image(3, (800, 600)).save(working, "PNG")
    deps.blobs.write(deps.settings.work_bucket, f"{BRAND}/scan-1.png", working.getvalue(), "image/png")
    listing = {
        "listing_id": "l-1",
        "image": "l-1.jpg",
        "title": "ACME Runner — genuine?? cheap",
        "price": 19.0,
        "currency": "USD",
        "seller_id": "bargain-shop",
        "marketplace": "shopmart",
        "url": url,
    }
    deps.docs.set(
        f"brands/{BRAND}/scans/scan-1",
        {
            "listing": listing,
            "status": "done",
            "source": {
                "bucket": deps.settings.candidates_bucket,
                "name": f"{BRAND}/l-1.jpg",
                "generation": generation,
            },
        },
    )
    verdict = Verdict(
        scan_id="scan-1",
        brand_id=BRAND,
        listing_id="l-1",
        tier=1,
        score=0.93,
        rule="weighted",
        signals={
            "hash": Signal(
                name="hash",
                status="fired",
                score=0.97,
                reference="reference:front.jpg",
                reason="perceptual hash within 4 bits of front.jpg",
            ),
            "logo": Signal(
                name="logo",
                status="fired",
                score=0.9,
                reason="ACME logo verified (41 inliers)",
                detail={"boxes": [{"x": 100, "y": 80, "w": 200, "h": 120}]},
            ),
            "ocr_text": Signal(
                name="ocr_text",
                status="fired",
                score=1.0,
                reason="read ACME",
                detail={"boxes": [[500, 300, 150, 100]]},
            ),  # list form, as the OCR channel emits
            "color": Signal(name="color", status="clear", score=0.2, detail={"boxes": [[0, 0, 800, 600]]}),
            "embedding": Signal.not_run("embedding", "hash short-circuit"),
        },
        reasons=["Image is a copy of the brand's reference front.jpg", "ACME logo present"],
        best_reference="reference:front.jpg",
        created_at=NOW,
    )
    deps.docs.set(f"brands/{BRAND}/verdicts/scan-1", verdict.model_dump())
    return deps, verdict


def pdf_pages(data: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", data))


def test_bundle_holds_every_part_and_verifies(tmp_path: Path) -> None:
    deps, verdict = seed(tmp_path)
    result = build_bundle_result(deps, verdict, out_dir=tmp_path / "evidence")
    root = Path(result.location)
    assert root == tmp_path / "evidence" / BRAND / "scan-1"
    names = sorted(p.name for p in root.iterdir())
    assert names == [
        "candidate.jpg",
        "comparison.png",
        "listing.json",
        "manifest.json",
        "reference.jpg",
        "report.pdf",
        "signals.json",
    ]
    assert verify_bundle(root) == []
    assert verify_recorded(deps, BRAND, "scan-1") == []
    # The candidate is byte-identical to what was received; the reference to the kit file.
    assert (root / "candidate.jpg").read_bytes() == deps.blobs.read(
        deps.settings.candidates_bucket, "acme/l-1.jpg"
    )
    assert (root / "reference.jpg").read_bytes() == (tmp_path / "kit/references/front.jpg").read_bytes()
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["screenshot"]["status"] == "skipped"
    assert manifest["scan_id"] == "scan-1" and manifest["generated_at"].endswith("+00:00")
    by_name = {f["name"]: f["sha256"] for f in manifest["files"]}
    assert by_name["report.pdf"] == hashlib.sha256((root / "report.pdf").read_bytes()).hexdigest()
    # the report's integrity section lists every other file with the manifest's digest
    from pypdf import PdfReader

    report_text = "".join(p.extract_text() for p in PdfReader(root / "report.pdf").pages).replace("\n", " ")
    for name in sorted(set(by_name) - {"report.pdf"}):
        assert f"{name} {by_name[name]}" in " ".join(report_text.split()), name
    record = deps.docs.get(evidence_doc_path(BRAND, "scan-1"))
    assert record["manifest_sha256"] == result.manifest_sha256
    assert result.manifest_sha256 == hashlib.sha256((root / "manifest.json").read_bytes()).hexdigest()
    signals = json.loads((root / "signals.json").read_text())
    assert signals["signals"]["logo"]["detail"]["boxes"] == [{"x": 100, "y": 80, "w": 200, "h": 120}]
    assert json.loads((root / "listing.json").read_text())["seller_id"] == "bargain-shop"
    pdf = (root / "report.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and pdf_pages(pdf) >= 1
    # The comparison shows both images side by side with the logo box drawn in the box colour.
    comparison = Image.open(root / "comparison.png").convert("RGB")
    assert comparison.width > comparison.height
    # panels are as tall as the taller picture (the 600 px working copy; compare.panel_height), not enlarged
    assert comparison.height == 44 + 600
    scale = 1.0
    x, y = round(100 * scale), 44 + round(80 * scale) + 10
    assert comparison.getpixel((x, y))[0] > 200  # the logo box outline (first colour, red)
    r, g, b = comparison.getpixel((round(500 * scale), 44 + round(300 * scale) + 10))
    assert b > 150 and r < 60  # the OCR box (second colour, blue); the clear colour signal draws nothing


def test_tampering_is_detected(tmp_path: Path) -> None:
    deps, verdict = seed(tmp_path)
    root = Path(build_bundle(deps, verdict, out_dir=tmp_path / "evidence"))
    digest = deps.docs.get(evidence_doc_path(BRAND, "scan-1"))["manifest_sha256"]
    signals = json.loads((root / "signals.json").read_text())
    signals["tier"] = 4
    (root / "signals.json").write_text(json.dumps(signals))
    (root / "extra.txt").write_text("planted")
    problems = verify_bundle(root, expected_digest=digest)
    assert any(p.startswith("signals.json: SHA-256 differs") for p in problems)
    assert any(p.startswith("extra.txt: present in the bundle but not listed") for p in problems)
    # Rewriting the manifest to match hides the file edit but not from the recorded digest.
    manifest = json.loads((root / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["name"] == "signals.json":
            data = (root / "signals.json").read_bytes()
            entry["sha256"], entry["bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    (root / "manifest.json").write_text(json.dumps(manifest))
    (root / "extra.txt").unlink()
    assert verify_bundle(root) == []
    assert verify_bundle(root, expected_digest=digest) == [
        "manifest.json digest differs from the digest recorded with the verdict"
    ]
    (root / "reference.jpg").unlink()
    assert "reference.jpg: listed in the manifest but missing" in verify_bundle(root)


def test_bundle_in_the_evidence_bucket_verifies_through_the_blob_store(tmp_path: Path) -> None:
    deps, verdict = seed(tmp_path)
    location = build_bundle(deps, verdict)
    bucket = deps.settings.evidence_bucket
    assert sorted(deps.blobs.list(bucket, "acme/scan-1/"))[0] == "acme/scan-1/candidate.jpg"
    assert verify_bundle(location) == []  # local blob store: a real directory
    assert verify_bundle(f"gs://{bucket}/acme/scan-1/", deps=deps) == []
    assert verify_recorded(deps, BRAND, "scan-1") == []
    deps.blobs.write(bucket, "acme/scan-1/signals.json", b"{}", "application/json")
    assert verify_recorded(deps, BRAND, "scan-1") == [
        "signals.json: SHA-256 differs from the manifest (file was changed)"
    ]


def test_missing_reference_and_source_are_noted_not_fatal(tmp_path: Path) -> None:
    deps, verdict = seed(tmp_path)
    shutil.rmtree(tmp_path / "kit")
    deps.blobs.delete(deps.settings.candidates_bucket, "acme/l-1.jpg")
    root = Path(build_bundle(deps, verdict, out_dir=tmp_path / "evidence"))
    manifest = json.loads((root / "manifest.json").read_text())
    assert "reference.jpg" not in {f["name"] for f in manifest["files"]}
    assert any("not found in the brand kit" in n for n in manifest["notes"])
    assert any("no longer in the candidates bucket" in n for n in manifest["notes"])
    assert verify_bundle(root) == []


@needs_chromium
def test_screenshot_of_a_local_listing_page(tmp_path: Path) -> None:
    page = b"<html><body style='margin:0;background:#ff0000'><h1>ACME Runner listing</h1></body></html>"
    server = LoopbackServer().start()
    try:
        url = server.bytes_route("/item/l-1", page, content_type="text/html")
        deps, verdict = seed(tmp_path, url=url, allow_private=True)
        root = Path(build_bundle(deps, verdict, out_dir=tmp_path / "evidence"))
    finally:
        server.stop()
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["screenshot"]["status"] == "captured"
    shot = Image.open(root / "screenshot.png").convert("RGB")
    assert shot.size == (1280, 1600)
    assert shot.getpixel((640, 1500)) == (255, 0, 0)  # the page's red background was rendered
    assert any(r.path == "/item/l-1" for r in server.received)
    assert verify_bundle(root) == []
    assert pdf_pages((root / "report.pdf").read_bytes()) >= 2  # the screenshot gets its own space


def test_refused_screenshot_is_recorded_and_bundle_kept(tmp_path: Path) -> None:
    deps, verdict = seed(tmp_path, url="http://127.0.0.1:9/item")  # private address, production rules
    root = Path(build_bundle(deps, verdict, out_dir=tmp_path / "evidence"))
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["screenshot"]["status"] == "failed"
    assert "loopback" in manifest["screenshot"]["reason"]
    assert not (root / "screenshot.png").exists()
    assert verify_bundle(root) == []


def test_unexpected_screenshot_error_is_recorded_and_bundle_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The screenshot is an optional part: whatever the browser layer raises, the bundle is still written."""

    def broken(url: str, **_kwargs: object) -> None:
        raise RuntimeError("driver connection closed")

    monkeypatch.setattr("common.evidence.bundle.take_screenshot", broken)
    deps, verdict = seed(tmp_path, url="https://shop.example/item")
    root = Path(build_bundle(deps, verdict, out_dir=tmp_path / "evidence"))
    manifest = json.loads((root / "manifest.json").read_text())
    assert manifest["screenshot"] == {
        "status": "failed",
        "url": "https://shop.example/item",
        "reason": "RuntimeError: driver connection closed",
    }
    assert (root / "report.pdf").is_file() and verify_bundle(root) == []


def test_screenshot_refuses_non_http_and_metadata_urls() -> None:
    for url in ("file:///etc/passwd", "http://169.254.169.254/computeMetadata/v1/", "http://metadata/x"):
        with pytest.raises(FetchRefused):
            take_screenshot(url, allow_private=True)
