"""logo_ocr's second look through the chain (the in-process bus runs the cloud functions' handlers): OCR runs
only when fuse finds the image's text could change the tier, the verdict says which, and the text read in the
second look is the one-pass channel's."""

from __future__ import annotations

from pathlib import Path

import pytest

from common import chain, ingest, pipeline, topics
from common.brands import get_brand, register_brand
from common.messages import ChannelsRequested, Listing
from common.vision import backends


@pytest.fixture
def acme(runtime, demo_dir: Path):
    deps, bus = runtime
    register_brand(deps, demo_dir / "kit")
    return deps, bus


@pytest.fixture
def ocr_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = backends.read_with_zoom

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(backends, "read_with_zoom", counted)
    return calls


def _scan(deps, bus, path: Path) -> tuple[dict, dict]:
    listing = Listing(listing_id=path.stem, image=str(path), seller_id="someone")
    scan_id = ingest.ingest_listing(deps, "acme", listing, path.read_bytes(), f"text-look:{path.stem}")
    bus.drain()
    verdict = deps.docs.get(pipeline.verdict_path("acme", scan_id))
    scan = deps.docs.get(pipeline.scan_path("acme", scan_id))
    assert verdict is not None and scan is not None
    return verdict, scan


def _requests(bus) -> list[ChannelsRequested]:
    return [
        ChannelsRequested.from_pubsub(data, attrs)
        for topic, data, attrs in bus.published
        if topic == topics.CHANNELS_REQUESTED
    ]


def test_a_verified_copy_tier1_whatever_the_text_skips_ocr(acme, demo_dir: Path, ocr_calls) -> None:
    deps, bus = acme
    verdict, scan = _scan(deps, bus, demo_dir / "candidates" / "s2-mirrored.jpg")
    assert (verdict["tier"], verdict["rule"]) == (1, "modified_copy_verified")
    text = verdict["signals"]["ocr_text"]
    assert text["status"] == "not_run"
    assert text["reason"].startswith("skipped: the verdict is Tier 1 whatever the image's text says")
    assert ocr_calls == []  # OCR never ran for this scan
    assert topics.TEXT_LOOK not in scan["channels"] and topics.TEXT_LOOK not in scan["expected"]
    assert scan["deferred"] == ["ocr_text"]
    assert [r.channels for r in _requests(bus)] == [list(topics.EXPENSIVE_CHANNELS)]


def test_text_that_could_change_the_tier_is_read_in_a_second_look(acme, demo_dir: Path, ocr_calls) -> None:
    deps, bus = acme
    path = demo_dir / "candidates" / "s7-text.jpg"
    verdict, scan = _scan(deps, bus, path)
    assert verdict["tier"] == 2 and verdict["signals"]["ocr_text"]["status"] == "fired"
    assert len(ocr_calls) == 1
    requests = _requests(bus)
    assert [r.channels for r in requests] == [list(topics.EXPENSIVE_CHANNELS), [topics.TEXT_LOOK]]
    why = requests[1].text_look.why if requests[1].text_look else ""
    assert why.startswith("read: the image's text could change the tier") and "Tier 4 if" in why
    assert verdict["signals"]["ocr_text"]["detail"]["second_look"] == why == scan["text_look"]
    assert scan["text_look_announced"] is True and scan["verdict_announced"] is True

    # The second look reads what the one-pass channel reads on the same working copy.
    from common.imaging import open_working
    from common.messages import Preprocessed
    from common.vision.channel import run_logo_ocr_channel

    pre = Preprocessed.model_validate(scan["image"])
    image = open_working(deps.blobs.read(pre.working.bucket, pre.working.name))
    one_pass = run_logo_ocr_channel(deps, get_brand(deps, "acme"), image, pre)["ocr_text"]
    second = verdict["signals"]["ocr_text"]
    assert (second["status"], second["score"], second["reference"]) == (
        one_pass.status,
        one_pass.score,
        one_pass.reference,
    )
    assert second["detail"]["text"] == one_pass.detail["text"]


def test_embed_ignores_the_second_look_and_logo_ocr_needs_its_request(acme, demo_dir: Path) -> None:
    deps, bus = acme
    _scan(deps, bus, demo_dir / "candidates" / "s7-text.jpg")
    second = _requests(bus)[1]
    assert pipeline.embed_step(deps, second) == []
    bare = second.model_copy(update={"text_look": None})
    from common.errors import BadInput

    with pytest.raises(BadInput, match="needs its text_look"):
        pipeline.logo_ocr_step(deps, bare)


class FailOnce:
    """A publisher that loses the first second-look request (fuse's instance dies after its commit)."""

    def __init__(self, inner) -> None:
        self.inner, self.failed = inner, False

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def publish(self, topic, data, attrs):
        if topic == topics.CHANNELS_REQUESTED and not self.failed and b'"text_look":{' in data:
            self.failed = True
            raise ConnectionResetError("instance killed before publishing")
        return self.inner.publish(topic, data, attrs)


def test_a_lost_second_look_request_is_published_again_on_redelivery(acme, demo_dir: Path) -> None:
    deps, bus = acme
    deps.publisher = FailOnce(deps.publisher)
    verdict, scan = _scan(deps, bus, demo_dir / "candidates" / "s7-text.jpg")
    assert deps.publisher.failed
    assert verdict["tier"] == 2 and verdict["signals"]["ocr_text"]["status"] == "fired"
    assert topics.TEXT_LOOK in scan["channels"] and not bus.dead_letters
    assert len([d for _, d in deps.docs.list("brands/acme/verdicts")]) == 1


def test_duplicate_deliveries_with_a_second_look_make_one_verdict(acme, demo_dir: Path) -> None:
    deps, bus = acme
    path = demo_dir / "candidates" / "s7-text.jpg"
    first, _ = _scan(deps, bus, path)
    for i, (topic, data, attrs) in enumerate(list(bus.published)):
        for step, sub_topic in topics.SUBSCRIPTIONS.items():
            if sub_topic == topic:
                chain.run_step(step, deps, data, attrs, event_id=f"replayed-{i}")
    bus.drain()
    stored = [d for _, d in deps.docs.list("brands/acme/verdicts")]
    assert len(stored) == 1 and stored[0]["tier"] == first["tier"]
