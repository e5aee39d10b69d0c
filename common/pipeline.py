"""The chain's step functions: one message in, typed messages out. Business logic only — delivery, idempotency
and publishing live in ``common.chain``, so the CLI's in-process bus, the emulator stack and GCP run this
same code.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from common import paths, topics
from common import signals as registry
from common.bootstrap import Deps
from common.brand_model import Brand
from common.brands import get_brand
from common.channels import Candidate, run_channel
from common.errors import BadInput
from common.messages import (
    BlobRef,
    ChannelCompleted,
    ChannelsRequested,
    Listing,
    MarketplaceProvenance,
    Message,
    Preprocessed,
    ScanPreprocessed,
    ScanRequested,
    Signal,
    TextLook,
    Verdict,
    VerdictRecorded,
    format_validation_error,
)
from common.paths import scan_path, verdict_path
from common.review.queue_docs import queue_path, with_verdict

Outputs = list[tuple[str, Message]]
TEXT = "ocr_text"  # the signal logo_ocr leaves to its second look (common.funnel)


def preprocess_step(deps: Deps, msg: ScanRequested) -> Outputs:
    from common import imaging

    data = deps.blobs.read(msg.source.bucket, msg.source.name)
    result, working_bytes = imaging.preprocess(
        data, max_bytes=deps.settings.max_image_bytes, max_pixels=deps.settings.max_image_pixels
    )
    working = BlobRef(bucket=deps.settings.work_bucket, name=paths.working_copy(msg.brand_id, msg.scan_id))
    generation = deps.blobs.write(
        working.bucket, working.name, working_bytes, content_type=imaging.WORKING_CONTENT_TYPE
    )
    image = result.to_message(working.model_copy(update={"generation": generation}))
    image = image.model_copy(update={"keypoints": _store_small_keypoints(deps, msg, working_bytes)})
    deps.docs.update(
        scan_path(msg.brand_id, msg.scan_id), {"status": "running", "image": image.model_dump(mode="json")}
    )
    out = ScanPreprocessed(
        scan_id=msg.scan_id, brand_id=msg.brand_id, listing=msg.listing, source=msg.source, image=image
    )
    return [(topics.SCAN_PREPROCESSED, out)]


def _store_small_keypoints(deps: Deps, msg: ScanRequested, working_bytes: bytes) -> BlobRef | None:
    """The candidate's one SIFT pass, next to its working copy, for working copies up to 640 px
    (``copyverify.shares_candidate_pass``), where it is the pass copy verification would run anyway: so the hash
    short-circuit costs no more than before. Larger copies are left to hash_match, after the short-circuit
    (``_with_keypoints``). Computed from the working copy as the channels decode it."""
    from common.copyverify import shares_candidate_pass
    from common.imaging import open_working

    image = open_working(working_bytes)
    if not shares_candidate_pass(image.size):
        return None
    return _store_keypoints(deps, msg.brand_id, msg.scan_id, image)


def _store_keypoints(deps: Deps, brand_id: str, scan_id: str, image: Any) -> BlobRef:
    """The candidate's one SIFT pass (``sift.candidate_keypoints``), stored in the work bucket: logo_ocr and embed
    read it instead of each running SIFT (docs/speed.md, "SIFT once per candidate")."""
    from common.vision.sift import candidate_keypoints

    data = candidate_keypoints(image).to_bytes()
    ref = BlobRef(bucket=deps.settings.work_bucket, name=paths.keypoints(brand_id, scan_id))
    generation = deps.blobs.write(ref.bucket, ref.name, data, content_type="application/x-npz")
    return ref.model_copy(update={"generation": generation})


def _with_keypoints(deps: Deps, msg: ScanPreprocessed, candidate: Candidate) -> Preprocessed:
    """``msg.image`` with the scan's SIFT pass stored: preprocess's (<= 640 px), else computed now, once the hash
    short-circuit is ruled out, for both expensive channels to read."""
    if msg.image.keypoints is not None:
        return msg.image
    ref = _store_keypoints(deps, msg.brand_id, msg.scan_id, candidate.image)
    return msg.image.model_copy(update={"keypoints": ref})


def _working_image(deps: Deps, image: Preprocessed) -> Any:
    from common.imaging import open_working

    return open_working(deps.blobs.read(image.working.bucket, image.working.name))


def _stored_keypoints(deps: Deps, ref: BlobRef) -> Any:
    from common.vision.sift import Keypoints

    return Keypoints.from_bytes(deps.blobs.read(ref.bucket, ref.name))


def _candidate(deps: Deps, listing: Listing, image: Preprocessed) -> Candidate:
    ref = image.keypoints
    return Candidate(
        listing=listing,
        pre=image,
        load_image=lambda: _working_image(deps, image),
        load_keypoints=None if ref is None else (lambda: _stored_keypoints(deps, ref)),
    )


def hash_match_step(deps: Deps, msg: ScanPreprocessed) -> Outputs:
    """The cheap funnel stage: a perceptual-hash match (a brand reference, or an entry of a hash list the brand
    imported) short-circuits the expensive channels (seed 004 ch. 8)."""
    brand = get_brand(deps, msg.brand_id)
    candidate = _candidate(deps, msg.listing, msg.image)
    found = run_channel("hash", deps, brand, candidate)
    signal = found["hash"]
    if signal.status == "fired":
        return [
            (
                topics.CHANNEL_COMPLETED,
                ChannelCompleted(
                    scan_id=msg.scan_id,
                    brand_id=msg.brand_id,
                    channel="hash",
                    signals=found,
                    expected=["hash"],
                ),
            )
        ]
    expected = ["hash", *topics.EXPENSIVE_CHANNELS]
    request = ChannelsRequested(
        scan_id=msg.scan_id,
        brand_id=msg.brand_id,
        listing=msg.listing,
        source=msg.source,
        image=_with_keypoints(deps, msg, candidate),
        channels=list(topics.EXPENSIVE_CHANNELS),
    )
    done = ChannelCompleted(
        scan_id=msg.scan_id,
        brand_id=msg.brand_id,
        channel="hash",
        signals=found,
        expected=expected,
    )
    return [(topics.CHANNELS_REQUESTED, request), (topics.CHANNEL_COMPLETED, done)]


def embed_step(deps: Deps, msg: ChannelsRequested) -> Outputs:
    if "embed" not in msg.channels:  # fuse's request for logo_ocr's second look reaches this subscription too
        return []
    brand = get_brand(deps, msg.brand_id)
    signals = run_channel("embed", deps, brand, _candidate(deps, msg.listing, msg.image))
    return [(topics.CHANNEL_COMPLETED, _completed(msg, "embed", signals))]


def logo_ocr_step(deps: Deps, msg: ChannelsRequested) -> Outputs:
    """The first look (logo, mark detector, colour, barcode; OCR too where the vision backend cannot read text
    apart), or, on fuse's request (``channels == ["ocr"]``), the second look: the image's text."""
    if topics.TEXT_LOOK in msg.channels:
        return [(topics.CHANNEL_COMPLETED, _text_look(deps, msg))]
    if "logo_ocr" not in msg.channels:
        return []
    brand = get_brand(deps, msg.brand_id)
    apart = deps.vision.reads_text_apart
    candidate = _candidate(deps, msg.listing, msg.image)
    candidate.read_text = not apart
    signals = run_channel("logo_ocr", deps, brand, candidate)
    return [(topics.CHANNEL_COMPLETED, _completed(msg, "logo_ocr", signals, [TEXT] if apart else []))]


def _text_look(deps: Deps, msg: ChannelsRequested) -> ChannelCompleted:
    from common.vision.channel import text_signal

    if msg.text_look is None:
        raise BadInput("a second look (channels ['ocr']) needs its text_look")
    brand = get_brand(deps, msg.brand_id)
    image = _working_image(deps, msg.image)
    sig = text_signal(deps, brand, image, msg.image, list(msg.text_look.logo_boxes))
    sig = sig.model_copy(update={"detail": sig.detail | {"second_look": msg.text_look.why}})
    return _completed(msg, topics.TEXT_LOOK, {TEXT: sig})


def _completed(
    msg: ChannelsRequested, channel: str, signals: dict[str, Signal], deferred: list[str] | None = None
) -> ChannelCompleted:
    return ChannelCompleted(
        scan_id=msg.scan_id,
        brand_id=msg.brand_id,
        channel=channel,
        signals=signals,
        expected=["hash", *msg.channels],
        deferred=deferred or [],
    )


def fuse_step(deps: Deps, msg: ChannelCompleted) -> Outputs:
    """Fan-in: record this channel inside a transaction; the invocation that completes the set creates the
    verdict (``create`` fails if another got there first), so duplicates never make a second verdict.

    A channel may leave a signal to a second look (``deferred``: logo_ocr's "ocr_text"). When the set is
    complete, fuse asks ``funnel.text_decision`` whether the image's text could still change the tier: if not,
    the verdict is decided now, its "ocr_text" not_run with the reason; if so, "ocr" joins the expected channels
    and fuse requests it (``ChannelsRequested(channels=["ocr"])``), announcing it again on a redelivery until
    the request is marked published, as the verdict is."""
    from common.funnel import text_decision
    from common.fusion import decide

    brand = get_brand(deps, msg.brand_id)
    spath, vpath = scan_path(msg.brand_id, msg.scan_id), verdict_path(msg.brand_id, msg.scan_id)
    channel_doc = {k: v.model_dump(mode="json") for k, v in msg.signals.items()}

    def record(txn: Any) -> Verdict | ChannelsRequested | None | bool:
        scan = txn.get(spath)
        existing = txn.get(vpath)
        if scan is None:
            raise LookupError(f"scan {msg.scan_id} has no scan document")
        raw_listing = scan.get("listing") or {}
        qpath = queue_path(msg.brand_id, str(raw_listing.get("listing_id") or ""))
        queued = txn.get(qpath) if raw_listing.get("listing_id") else None  # reads before writes
        if existing is not None:
            return not scan.get("verdict_announced", False)  # True: announce again (crash before publish)
        channels = dict(scan.get("channels") or {})
        channels[msg.channel] = channel_doc
        expected = sorted(set(scan.get("expected") or []) | set(msg.expected))
        deferred = sorted(set(scan.get("deferred") or []) | set(msg.deferred))
        fields: dict[str, Any] = {f"channels.{msg.channel}": channel_doc, "expected": expected}
        if deferred:
            fields["deferred"] = deferred
        waiting = set(expected) - set(channels)
        if waiting:
            txn.update(spath, fields)
            if waiting == {topics.TEXT_LOOK} and not scan.get("text_look_announced", False):
                return _text_look_request(scan, msg, channels)  # requested, never published (crash): again
            return None
        listing = Listing.model_validate(scan["listing"])
        signals = _all_signals(deps, brand, listing, channels, expected)
        if TEXT in deferred and topics.TEXT_LOOK not in expected:
            decision = text_decision(brand, listing, {k: v for k, v in signals.items() if k != TEXT})
            if not decision.skip:
                fields |= {"expected": sorted({*expected, topics.TEXT_LOOK}), "text_look": decision.reason}
                txn.update(spath, fields)
                return _text_look_request(scan | {"text_look": decision.reason}, msg, channels)
            signals[TEXT] = Signal.not_run(TEXT, decision.reason)
        verdict = decide(brand, listing, signals, scan_id=msg.scan_id, now=deps.clock())
        txn.create(vpath, verdict.model_dump(mode="python"))
        row = with_verdict(queued, verdict, raw_listing)  # the listing's review-queue row, same transaction
        if row is not None:
            txn.set(qpath, row)
        txn.update(spath, fields | {"status": "done", "tier": verdict.tier, "finished_at": deps.clock()})
        return verdict

    result = deps.docs.transaction(record)
    if result is None or result is False:
        return []
    if isinstance(result, ChannelsRequested):
        return [(topics.CHANNELS_REQUESTED, result)]
    if result is True:
        stored = Verdict.model_validate(deps.docs.get(vpath))
        return [(topics.VERDICT_RECORDED, _announcement(stored))]
    assert isinstance(result, Verdict)
    return [(topics.VERDICT_RECORDED, _announcement(result))]


def _text_look_request(
    scan: dict[str, Any], msg: ChannelCompleted, channels: dict[str, Any]
) -> ChannelsRequested:
    """Fuse's request for logo_ocr's second look, from what the scan document holds."""
    from common.funnel import sift_boxes

    raw_logo = (channels.get("logo_ocr") or {}).get("logo")
    logo = Signal.model_validate(raw_logo) if raw_logo else None
    return ChannelsRequested(
        scan_id=msg.scan_id,
        brand_id=msg.brand_id,
        listing=Listing.model_validate(scan["listing"]),
        source=BlobRef.model_validate(scan["source"]),
        image=Preprocessed.model_validate(scan["image"]),
        channels=[topics.TEXT_LOOK],
        text_look=TextLook(logo_boxes=sift_boxes(logo), why=str(scan.get("text_look") or "requested")),
    )


def mark_verdict_announced(deps: Deps, msg: ChannelCompleted, outputs: Outputs) -> None:
    """After fuse published: the verdict's announcement, or its request for the second look."""
    published = {topic for topic, _ in outputs}
    fields = {
        flag: True
        for topic, flag in (
            (topics.VERDICT_RECORDED, "verdict_announced"),
            (topics.CHANNELS_REQUESTED, "text_look_announced"),
        )
        if topic in published
    }
    if fields:
        deps.docs.update(scan_path(msg.brand_id, msg.scan_id), fields)


def _announcement(verdict: Verdict) -> VerdictRecorded:
    return VerdictRecorded(
        scan_id=verdict.scan_id,
        brand_id=verdict.brand_id,
        listing_id=verdict.listing_id,
        tier=verdict.tier,
        score=verdict.score,
    )


def _all_signals(
    deps: Deps, brand: Brand, listing: Listing, channels: dict[str, Any], expected: list[str]
) -> dict[str, Signal]:
    """Every registered signal, in registry order: the channels' recorded ones, the listing channel's (computed
    here), and not_run with the reason for those a channel skipped or did not report."""
    signals: dict[str, Signal] = {}
    for channel_signals in channels.values():
        for name, raw in channel_signals.items():
            signals[name] = Signal.model_validate(raw)
    signals |= run_channel("listing", deps, brand, Candidate(listing=listing))
    for spec in registry.SIGNALS:
        if spec.name not in signals:
            why = (
                "skipped: the perceptual-hash match already decided (short-circuit)"
                if spec.channel not in expected
                else f"channel {spec.channel} reported no {spec.name} signal"
            )
            signals[spec.name] = Signal.not_run(spec.name, why)
    order = registry.names()
    return {name: signals[name] for name in order} | {k: v for k, v in signals.items() if k not in order}


def evidence_step(deps: Deps, msg: VerdictRecorded) -> Outputs:
    """Tier 1: preserve evidence automatically and tell the marketplace what its policy allows before review
    (common.callbacks: by default nothing until a reviewer confirms)."""
    if msg.tier != 1:
        return []
    from pathlib import Path

    from common.callbacks import notify_verdict
    from common.evidence.bundle import build_bundle

    vpath = verdict_path(msg.brand_id, msg.scan_id)
    verdict = Verdict.model_validate(deps.docs.get(vpath))
    scan = deps.docs.get(scan_path(msg.brand_id, msg.scan_id)) or {}
    if verdict.evidence is None:
        out_dir = scan.get("evidence_dir")
        location = build_bundle(deps, verdict, out_dir=Path(out_dir) if out_dir else None)
        deps.docs.update(vpath, {"evidence": location})
        verdict = verdict.model_copy(update={"evidence": location})
    try:
        listing = Listing.model_validate(
            scan.get("listing") or {"listing_id": msg.listing_id, "image": "unknown"}
        )
    except ValidationError as exc:  # written before ids were validated: permanent, never a retry loop
        raise BadInput(f"stored listing is invalid: {format_validation_error(exc)}") from exc
    outcome = notify_verdict(deps, verdict, listing, MarketplaceProvenance.of_scan(scan))
    deps.docs.update(scan_path(msg.brand_id, msg.scan_id), {"callback": outcome.record()})
    return []


def cluster_step(deps: Deps, msg: VerdictRecorded) -> Outputs:
    """Join the listing to the clusters it shares an image, a seller or a store with (``common.clusters``):
    incremental, so only the clusters this verdict links to are read and written."""
    from common.clusters.membership import cluster_scan

    cluster_scan(deps, msg.brand_id, msg.scan_id)
    return []
