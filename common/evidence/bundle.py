"""Build the evidence bundle for a verdict: what a legal team files with a marketplace takedown.

Contents (names fixed; ``manifest.json`` lists each with its SHA-256):
``candidate.<ext>`` the image exactly as received · ``reference.<ext>`` the matched genuine reference (the
brand's own kit) · ``comparison.png`` side by side with matched regions boxed · ``signals.json`` the verdict
with every signal's score and evidence · ``listing.json`` the listing data · ``screenshot.png`` the listing
page (when the listing has a URL) · ``report.pdf`` the takedown-ready report · ``manifest.json``.
Anything that could not be captured is recorded in the manifest's ``notes`` instead of failing the bundle.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from common import paths
from common.errors import FetchRefused
from common.evidence.compare import side_by_side
from common.evidence.manifest import MANIFEST_NAME, BundleFile, build_manifest, sha256_hex
from common.evidence.pdf import ReportContext, render_report
from common.evidence.png import encode_rgb
from common.evidence.regions import matched_regions
from common.evidence.screenshot import Screenshot, ScreenshotFailed, take_screenshot
from common.evidence.sources import ReferenceImage, find_reference
from common.messages import Verdict
from common.paths import evidence_doc_path
from common.ports import NotFound

if TYPE_CHECKING:
    from common.bootstrap import Deps

log = logging.getLogger(__name__)

_FORMAT_EXT = {
    "JPEG": (".jpg", "image/jpeg"),
    "PNG": (".png", "image/png"),
    "WEBP": (".webp", "image/webp"),
    "GIF": (".gif", "image/gif"),
    "BMP": (".bmp", "image/bmp"),
    "TIFF": (".tif", "image/tiff"),
}


@dataclass(frozen=True)
class BundleResult:
    location: str  # directory path, or gs:// prefix ending in "/"
    manifest_sha256: str
    files: tuple[str, ...]
    notes: tuple[str, ...]


def _open_image(data: bytes, max_pixels: int) -> tuple[Image.Image | None, str | None]:
    """(RGB image for a comparison panel or None, format name). Through the same safe decode as the chain, so
    a hostile file costs here what it cost in preprocess (header checks, byte budget, reduced decode)."""
    from common import imaging
    from common.errors import BadImage

    try:
        fmt = imaging.sniff_format(data)
    except BadImage:
        return None, None
    try:
        decoded = imaging.decode(
            data, max_bytes=len(data), max_pixels=max_pixels, reduce_to=imaging.WORKING_MAX_SIDE
        )
    except BadImage:
        return None, fmt
    return decoded.image, fmt


def _open_working(data: bytes) -> Image.Image | None:
    """The working copy for the panel, through ``imaging.open_working``: the chain's steps decoded these bytes
    already, and in one process the decoded copy is kept (keyed by the bytes' digest)."""
    from common import imaging
    from common.errors import BadImage

    try:
        return imaging.open_working(data)
    except BadImage:
        return None


def _sniffed(data: bytes) -> str | None:
    from common import imaging
    from common.errors import BadImage

    try:
        return imaging.sniff_format(data)
    except BadImage:
        return None


def _ext(fmt: str | None, fallback_name: str) -> tuple[str, str]:
    if fmt in _FORMAT_EXT:
        return _FORMAT_EXT[fmt]
    suffix = Path(fallback_name).suffix.lower()
    return (suffix if suffix[1:].isalnum() and len(suffix) <= 6 else ".bin"), "application/octet-stream"


def collect_files(
    deps: Deps,
    verdict: Verdict,
    *,
    screenshot: bool = True,
    notice: dict[str, Any] | None = None,
    extra_files: tuple[BundleFile, ...] = (),
) -> tuple[list[BundleFile], dict[str, Any]]:
    """Every bundle file except the manifest, plus the manifest's metadata (notes, timestamps, sources).

    ``notice`` (a confirmed item's takedown notice) fills the report's rights, claims and statement;
    ``extra_files`` (the notice and its platform exports) join the bundle before the report lists digests."""
    brand, scan_id = verdict.brand_id, verdict.scan_id
    max_pixels = deps.settings.max_image_pixels
    notes: list[str] = []
    scan = deps.docs.get(paths.scan_path(brand, scan_id)) or {}
    brand_doc = deps.docs.get(paths.brand(brand)) or {}
    listing: dict[str, Any] = dict(scan.get("listing") or {"listing_id": verdict.listing_id})
    files: list[BundleFile] = []

    candidate_img = None
    source = scan.get("source") or {}
    try:  # boxes are in working-copy pixels: draw them on the working copy when it is still there
        working = bytes(deps.blobs.read(deps.settings.work_bucket, paths.working_copy(brand, scan_id)))
        candidate_img = _open_working(working)
    except NotFound:
        pass
    if source.get("bucket") and source.get("name"):
        try:
            raw = bytes(deps.blobs.read(source["bucket"], source["name"]))
            if candidate_img is None:  # decoded only for the panel; its format is sniffed from the bytes
                candidate_img, fmt = _open_image(raw, max_pixels)
            else:
                fmt = _sniffed(raw)
            ext, ctype = _ext(fmt, source["name"])
            files.append(BundleFile("candidate" + ext, raw, ctype))
        except NotFound:
            notes.append("the candidate image as received is no longer in the candidates bucket")
    else:
        notes.append("the scan record has no source image reference")
    boxes = matched_regions(verdict)

    ref: ReferenceImage | None = find_reference(deps, brand_doc, verdict, notes)
    ref_img = None
    if ref is not None:
        ref_img, fmt = _open_image(ref.data, max_pixels)
        ext, ctype = _ext(fmt, ref.filename)
        files.append(BundleFile("reference" + ext, ref.data, ctype))

    comparison_image = side_by_side(
        candidate_img,
        ref_img,
        boxes,
        candidate_caption=f"Listing {verdict.listing_id}",
        reference_caption=f"Genuine: {ref.filename}" if ref else "Genuine reference",
    )
    comparison = encode_rgb(comparison_image)  # lossless, ~5x faster than Pillow's PNG writer
    files.append(BundleFile("comparison.png", comparison, "image/png"))
    signals_json = json.dumps(verdict.model_dump(mode="json"), indent=2, sort_keys=True, ensure_ascii=False)
    files.append(BundleFile("signals.json", signals_json.encode(), "application/json"))
    files.append(
        BundleFile(
            "listing.json",
            json.dumps(listing, indent=2, sort_keys=True, default=str, ensure_ascii=False).encode(),
            "application/json",
        )
    )

    shot: bytes | None = None
    shot_status: dict[str, Any] = {"status": "skipped", "reason": "the listing has no URL"}
    url = listing.get("url")
    if url and screenshot:
        taken_at = deps.clock()
        try:
            captured = take_screenshot(str(url), allow_private=deps.settings.fetch_allow_private)
        except (ScreenshotFailed, FetchRefused, OSError) as exc:
            shot_status = {"status": "failed", "url": url, "reason": str(exc)[:300]}
            notes.append(f"listing page screenshot failed: {str(exc)[:300]}")
        except Exception as exc:  # an optional part: a browser bug must not cost the verdict its bundle
            log.exception("listing page screenshot failed unexpectedly")
            reason = f"{exc.__class__.__name__}: {str(exc)[:200]}"
            shot_status = {"status": "failed", "url": url, "reason": reason}
            notes.append(f"listing page screenshot failed: {reason}")
        else:
            shot = captured.png
            files.append(BundleFile("screenshot.png", shot, "image/png"))
            shot_status = {"status": "captured", "url": url, "taken_at": taken_at.isoformat()}
            shot_status |= _page_record(captured)
            if captured.refused_count:
                notes.append(
                    f"listing page screenshot: {captured.refused_count} request(s) of the page were refused "
                    "(address policy or page budget) and not loaded; see manifest screenshot.refused"
                )
            if captured.stopped:
                notes.append(f"listing page screenshot: {captured.stopped}")
    elif url:
        shot_status = {"status": "skipped", "reason": "screenshots disabled for this run"}

    files.extend(extra_files)
    generated_at = deps.clock()
    report = render_report(
        ReportContext(
            verdict=verdict,
            brand_name=str(brand_doc.get("display_name") or brand),
            trademarks=[str(t) for t in brand_doc.get("trademarks") or []],
            listing=listing,
            comparison_png=comparison,
            comparison_image=comparison_image,
            screenshot_png=shot,
            screenshot_note=shot_status.get("reason"),
            file_digests=[(f.name, sha256_hex(f.data)) for f in files],
            generated_at=generated_at,
            reference_name=ref.ref_id if ref else None,
            notes=notes,
            notice=notice,
        )
    )
    files.append(BundleFile("report.pdf", report, "application/pdf"))
    meta = {
        "brand_id": brand,
        "scan_id": scan_id,
        "listing_id": verdict.listing_id,
        "tier": verdict.tier,
        "score": verdict.score,
        "verdict_created_at": verdict.created_at.isoformat(),
        "generated_at": generated_at.isoformat(),
        "source": {k: source.get(k) for k in ("bucket", "name", "generation")} if source else None,
        "reference": {"ref_id": ref.ref_id, "sha256": ref.sha256, "origin": ref.origin} if ref else None,
        "screenshot": shot_status,
        "notes": notes,
    }
    if notice is not None:
        meta["notice"] = {k: notice.get(k) for k in ("generated_at", "generated_by", "test_buy_order_id")} | {
            "claims": [c["kind"] for c in notice["claims"]]
        }
    return files, meta


def _page_record(shot: Screenshot) -> dict[str, Any]:
    """What the screenshot browser loaded and refused, for the manifest."""
    return {
        "final_url": shot.final_url,
        "requests": shot.requests,
        "bytes": shot.bytes_fetched,
        "refused_count": shot.refused_count,
        "refused": list(shot.refused),
        "stopped": shot.stopped,
    }


def write_bundle(
    deps: Deps, verdict: Verdict, files: list[BundleFile], manifest: bytes, out_dir: Path | None
) -> str:
    """Write files + manifest; stale files from an earlier build of the same bundle are removed."""
    names = {f.name for f in files} | {MANIFEST_NAME}
    if out_dir is not None:
        target = Path(out_dir) / verdict.brand_id / verdict.scan_id
        target.mkdir(parents=True, exist_ok=True)
        for old in target.iterdir():
            if old.is_file() and old.name not in names:
                old.unlink()
        for f in files:
            (target / f.name).write_bytes(f.data)
        (target / MANIFEST_NAME).write_bytes(manifest)  # last: a bundle with a manifest is complete
        return str(target)
    bucket = deps.settings.evidence_bucket
    prefix = f"{verdict.brand_id}/{verdict.scan_id}/"
    for stale in deps.blobs.list(bucket, prefix):
        if stale[len(prefix) :] not in names:
            deps.blobs.delete(bucket, stale)
    for f in files:
        deps.blobs.write(bucket, prefix + f.name, f.data, content_type=f.content_type)
    deps.blobs.write(bucket, prefix + MANIFEST_NAME, manifest, content_type="application/json")
    local = deps.blobs.local_path(bucket, prefix + MANIFEST_NAME)
    return str(Path(local).parent) if local else f"gs://{bucket}/{prefix}"


def build_bundle_result(
    deps: Deps,
    verdict: Verdict,
    *,
    out_dir: Path | None = None,
    record: bool = True,
    screenshot: bool = True,
    notice: dict[str, Any] | None = None,
    extra_files: tuple[BundleFile, ...] = (),
) -> BundleResult:
    files, meta = collect_files(deps, verdict, screenshot=screenshot, notice=notice, extra_files=extra_files)
    manifest = build_manifest(files, meta)
    location = write_bundle(deps, verdict, files, manifest, out_dir)
    digest = sha256_hex(manifest)
    if record:
        # Beside the verdict, not inside it: the Verdict model forbids unknown fields. Tenant-scoped path.
        deps.docs.set(
            evidence_doc_path(verdict.brand_id, verdict.scan_id),
            {
                "location": location,
                "manifest_sha256": digest,
                "generated_at": meta["generated_at"],
                "files": sorted(f.name for f in files),
                **({"notice": meta["notice"]} if notice is not None else {}),
            },
        )
    return BundleResult(location, digest, tuple(sorted(f.name for f in files)), tuple(meta["notes"]))


def build_bundle(deps: Deps, verdict: Verdict, *, out_dir: Path | None = None) -> str:
    """Build, write and record the bundle; returns its directory path or gs:// prefix."""
    return build_bundle_result(deps, verdict, out_dir=out_dir).location


def verify_recorded(deps: Deps, brand_id: str, scan_id: str) -> list[str]:
    """Verify a stored bundle against the manifest digest recorded for the scan."""
    from common.evidence.manifest import verify_bundle

    record = deps.docs.get(evidence_doc_path(brand_id, scan_id))
    if record is None:
        return ["no evidence bundle is recorded for this scan"]
    return verify_bundle(record["location"], deps=deps, expected_digest=record["manifest_sha256"])
