"""A discovery sweep end to end on the embedded default: the real clients ask the loopback APIs (stored
responses), found images are fetched through the SSRF-safe fetcher from the loopback "public web", deduplicated,
scanned by the real chain, and counted by the coverage report."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from common import evaluate, paths
from common.brands import get_brand, register_brand
from common.discovery.image_search import BraveImageSearchSource
from common.discovery.report import coverage, render_html, render_text
from common.discovery.sweep import run_sweep
from common.discovery.web_detection import WebDetectionSource
from common.errors import BadInput
from tests.support.discovery_apis import BRAVE_PATH, VISION_PATH, stored

APPROVED = {"enabled": True, "approved_by": "Jane Doe, Head of Brand Protection", "approved_on": "2026-11-30"}
SERVED = {  # path on the loopback web -> demo candidate; every other found URL answers 404 (scans cost seconds)
    "/images/I/71s1exact.jpg": "s1-exact.jpg",
    "/736x/4f/s1pin.jpg": "s1-exact.jpg",  # the same bytes at another URL
    "/wp/s17lookalike.jpg": "s2-mirrored.jpg",  # the demo's former look-alike (now a mirrored copy)
}


def kit_with(tmp_path: Path, demo_dir: Path, **discovery) -> Path:
    kit = tmp_path / "kit"
    if not kit.exists():
        shutil.copytree(demo_dir / "kit", kit)
    doc = json.loads((kit / "brand.json").read_text())
    doc["discovery"] = discovery
    (kit / "brand.json").write_text(json.dumps(doc))
    return kit


def sources(discovery_api, port: int) -> dict:
    discovery_api.script(VISION_PATH, (200, {}, stored("vision_two_references.json", port)))
    discovery_api.script(BRAVE_PATH, (200, {}, stored("brave_images.json", port)))
    return {
        "web_detection": WebDetectionSource(endpoint=discovery_api.endpoint),
        "image_search": BraveImageSearchSource(api_key="k", endpoint=discovery_api.endpoint),
    }


def no_sleep(_s: float) -> None:
    raise AssertionError("nothing should be retried here")


def test_sweep_end_to_end_dedupes_and_scans_like_listings(
    runtime, demo_dir, tmp_path, discovery_api, public_web
):
    deps, bus = runtime
    register_brand(deps, kit_with(tmp_path, demo_dir, web_detection=APPROVED, image_search=APPROVED))
    deps.docs.set("marketplaces/example-market", {"brands": ["acme"], "hosts": ["example-market.com"]})
    for path, name in SERVED.items():
        public_web.serve(path, (demo_dir / "candidates" / name).read_bytes())
    srcs = sources(discovery_api, public_web.port)

    first = run_sweep(deps, "acme", sources=srcs, drain=bus.drain, sleep=no_sleep)
    s = first.summary()
    assert (s["requests"], s["billed_units"], s["cost_usd"]) == (3, 4, pytest.approx(0.017))
    assert (s["found"], s["unique_images"], s["scanned"], s["duplicate_content"], s["refused"]) == (
        14,
        10,
        2,
        1,
        7,
    )
    assert s["errors"] == [] and s["skipped_units"] == []
    docs = {d["image_url"].rsplit("/", 1)[-1]: d for _, d in deps.docs.list(paths.discovered("acme"))}
    # 127.0.0.1 and the metadata server are refused by the fetcher's production policy, never contacted
    assert "refused: " in docs["token"]["error"] and "refused: " in docs["internal.png"]["error"]
    assert docs["S2modified.jpg"]["error"] == "refused: image URL answered HTTP 404"
    assert len(set(public_web.fetched())) == 8  # every public URL was asked once (two are not public)

    amazon = docs["71s1exact.jpg"]
    assert (amazon["host_class"], amazon["product_page"], amazon["page_host"]) == (
        "ecommerce",
        True,
        "amazon.com",
    )
    assert amazon["origins"] == ["reference:roadster-left.jpg", "reference:roadster-tank-detail.jpg"]
    scan = deps.docs.get(paths.scan_path("acme", amazon["scan_id"]))
    assert scan["listing"]["url"] == "https://www.amazon.com/dp/B0CXR7ACME"
    assert scan["listing"]["marketplace"] == "amazon.com" and scan["discovery"]["host_class"] == "ecommerce"
    assert (
        scan["marketplace_provenance"]["verified"] is False
    )  # a found page is never an authenticated sender
    assert (
        docs["s1pin.jpg"]["status"] == "duplicate_content"
        and docs["s1pin.jpg"]["scan_id"] == amazon["scan_id"]
    )
    assert docs["s1pin.jpg"]["host_class"] == "social"
    assert docs["s3selfshot.jpg"]["registered_marketplace"] == "example-market"
    assert docs["s17lookalike.jpg"]["host_class"] == "content_farm"  # no page: classified by the image's host
    assert docs["s7text.jpg"]["host_class"] == "social" and not docs["s7text.jpg"]["product_page"]
    verdict = deps.docs.get(paths.verdict_path("acme", amazon["scan_id"]))
    assert verdict["tier"] == 1  # the exact copy, found by Web Detection, went through the whole chain

    # Second run: the same bytes at the same URLs are not rescanned; the refused ones are tried and refused again.
    second = run_sweep(deps, "acme", sources=srcs, drain=bus.drain, sleep=no_sleep).summary()
    assert (second["scanned"], second["unchanged"], second["duplicate_content"], second["refused"]) == (
        0,
        3,
        0,
        7,
    )
    # A changed image at a known URL is scanned again.
    public_web.serve("/wp/s17lookalike.jpg", (demo_dir / "candidates" / "s6-composite.jpg").read_bytes())
    third = run_sweep(deps, "acme", sources=srcs, drain=bus.drain, sleep=no_sleep).summary()
    assert (third["scanned"], third["unchanged"]) == (1, 2)

    cov = coverage(deps, "acme")
    assert cov["runs"] == 3 and cov["images"] == 10 and cov["scans"] == 3
    assert cov["by_class"] == {"ecommerce": 5, "social": 2, "image_host": 0, "content_farm": 1, "other": 2}
    assert cov["product_pages"] == 5 and cov["registered_marketplace_pages"] == 1
    assert sum(cov["tiers"].values()) + cov["pending"] == cov["scans"] and cov["pending"] == 0
    assert cov["tiers"]["1"] >= 1 and cov["tier_1_2"] == cov["tiers"]["1"] + cov["tiers"]["2"]
    assert cov["cost_per_useful_usd"] == pytest.approx(3 * 0.017 / cov["tier_1_2"], rel=1e-6)
    left = cov["per_origin"]["reference:roadster-left.jpg"]
    assert left["images"] == 5 and left["best_guess_labels"] == ["acme roadster"]
    assert cov["opt_in"]["web_detection"]["approved_by"] == "Jane Doe, Head of Brand Protection"
    text = "\n".join(render_text(cov))
    assert "web_detection: on, approved by Jane Doe" in text and "product pages 5 (50.0%)" in text
    section = render_html(cov, evaluate._table)  # the POC report's "Search coverage" section
    assert (
        "<td>ecommerce</td><td>5</td><td>50.0%</td>" in section
        and "Jane Doe, Head of Brand Protection" in section
    )


def test_discovery_is_off_by_default_and_references_stay_home(
    runtime, demo_dir, tmp_path, discovery_api, public_web
):
    deps, bus = runtime
    register_brand(deps, kit_with(tmp_path, demo_dir))
    srcs = sources(discovery_api, public_web.port)
    with pytest.raises(BadInput, match="discovery is off"):
        run_sweep(deps, "acme", sources=srcs, drain=bus.drain)
    assert deps.blobs.list(deps.settings.references_bucket, "acme/discovery/") == []
    # Keyword search only: the trademarks go to Brave, no reference photo goes anywhere.
    register_brand(deps, kit_with(tmp_path, demo_dir, image_search=APPROVED))
    discovery_api.script(
        BRAVE_PATH,
        (200, {}, stored("brave_images.json", public_web.port).replace(b"http://i.", b"http://127.0.0.1.x.")),
    )
    result = run_sweep(deps, "acme", sources=srcs, drain=bus.drain, sleep=no_sleep)
    assert result.sources == ["image_search"] and discovery_api.requests_to(VISION_PATH) == []
    assert result.requests == 2 and result.refused == 3 and result.scanned == []
    assert deps.blobs.list(deps.settings.references_bucket, "acme/discovery/") == []


def test_opt_in_needs_who_and_when_and_staging_follows_it(runtime, demo_dir, tmp_path):
    deps, _ = runtime
    with pytest.raises(BadInput, match="approved_by"):
        register_brand(deps, kit_with(tmp_path, demo_dir, web_detection={"enabled": True}))
    with pytest.raises(BadInput, match="unknown field"):
        register_brand(deps, kit_with(tmp_path, demo_dir, web_detections=APPROVED))
    register_brand(deps, kit_with(tmp_path, demo_dir, web_detection=APPROVED))
    staged = deps.blobs.list(deps.settings.references_bucket, "acme/discovery/")
    brand = get_brand(deps, "acme")
    assert sorted(staged) == sorted(
        paths.discovery_reference("acme", r["sha256"]) for r in brand.references if r["kind"] == "reference"
    )
    doc = deps.docs.get(paths.brand("acme"))
    recorded = doc["discovery_recorded_at"]
    register_brand(deps, kit_with(tmp_path, demo_dir, web_detection=APPROVED))  # unchanged: same record
    assert deps.docs.get(paths.brand("acme"))["discovery_recorded_at"] == recorded
    register_brand(deps, kit_with(tmp_path, demo_dir))  # withdrawn: the staged copies go
    assert deps.blobs.list(deps.settings.references_bucket, "acme/discovery/") == []
    assert deps.docs.get(paths.brand("acme"))["discovery_recorded_at"] is None


def test_caps_quota_and_max(runtime, demo_dir, tmp_path, discovery_api, public_web):
    deps, bus = runtime
    kit = kit_with(
        tmp_path, demo_dir, web_detection=APPROVED, image_search=APPROVED, max_cost_usd_per_run=0.011,
        max_requests_per_run=5,
    )  # fmt: skip
    register_brand(deps, kit)
    srcs = sources(discovery_api, public_web.port)
    for path, name in SERVED.items():
        public_web.serve(path, (demo_dir / "candidates" / name).read_bytes())
    result = run_sweep(deps, "acme", sources=srcs, drain=bus.drain, sleep=no_sleep, max_candidates=1)
    # Vision (2 units, $0.007) fits; the first Brave query ($0.005) would pass $0.011: both queries are skipped.
    assert (result.requests, round(result.cost_usd, 6)) == (1, 0.007)
    assert [u.rsplit(": ", 1)[1] for u in result.skipped_units] == ["cost cap per run"] * 2
    assert (
        len(result.scanned) == 1 and result.not_fetched_max == 6
    )  # 7 unique Vision images, the first scanned
    assert len(discovery_api.requests_to(BRAVE_PATH)) == 0


def test_an_exhausted_quota_stops_one_source_and_the_run_goes_on(
    runtime, demo_dir, tmp_path, discovery_api, public_web
):
    deps, bus = runtime
    register_brand(deps, kit_with(tmp_path, demo_dir, web_detection=APPROVED, image_search=APPROVED))
    srcs = sources(discovery_api, public_web.port)
    discovery_api.script(VISION_PATH, (429, {}, stored("vision_429_daily.json")))
    discovery_api.script(
        BRAVE_PATH,
        (
            429,
            {"X-RateLimit-Remaining": "1, 0", "X-RateLimit-Reset": "1, 86400"},
            stored("brave_quota_exhausted.json"),
        ),
    )
    result = run_sweep(deps, "acme", sources=srcs, drain=bus.drain, sleep=no_sleep)
    assert result.requests == 0 and result.cost_usd == 0
    assert len(result.errors) == 2 and any("Requests per day" in e for e in result.errors)
    assert result.skipped_units == ["image_search Acme Roadster motorbike accessories: source stopped (429)"]
    run = deps.docs.list(paths.discovery_runs("acme"))[0][1]
    assert run["per_origin"]["reference:roadster-left.jpg"]["error"].startswith("Cloud Vision HTTP 429")


def test_cli_discover_report_and_brand_list(tmp_path, monkeypatch, capsys, discovery_api, public_web):
    from common import cli
    from common.settings import get_settings
    from tests.support.kits import tiny_kit

    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COUNTERFEIT_BRANDS", raising=False)
    monkeypatch.setenv("DISCOVERY_BRAVE_ENDPOINT", discovery_api.endpoint)
    monkeypatch.setenv("BRAVE_SEARCH_API_KEY", "k")
    get_settings.cache_clear()
    try:
        kit = tiny_kit(tmp_path / "kit")
        assert cli.main(["brand", "add", str(kit)]) == 0
        assert cli.main(["discover", "--brand", "acme"]) == 2
        assert "discovery is off" in capsys.readouterr().err
        doc = json.loads((kit / "brand.json").read_text()) | {"discovery": {"image_search": APPROVED}}
        (kit / "brand.json").write_text(json.dumps(doc))
        assert cli.main(["brand", "add", str(kit)]) == 0
        assert cli.main(["brand", "list"]) == 0
        assert "discovery: image_search (approved by Jane Doe" in capsys.readouterr().out
        discovery_api.script(
            BRAVE_PATH, (200, {}, stored("brave_images.json", public_web.port))
        )  # every image: 404
        assert cli.main(["discover", "--brand", "acme", "--json"]) == 0
        run = json.loads(capsys.readouterr().out)
        assert (run["sources"], run["requests"], run["found"], run["refused"]) == (["image_search"], 1, 3, 3)
        assert "q=ACME&" in discovery_api.requests_to(BRAVE_PATH)[0].path
        assert cli.main(["discover", "--brand", "acme", "--report", "--json"]) == 0
        cov = json.loads(capsys.readouterr().out)
        assert cov["by_class"]["ecommerce"] == 2 and cov["by_class"]["social"] == 1 and cov["tier_1_2"] == 0
        assert cov["cost_per_useful_usd"] is None and cov["cost_usd"] == 0.005
        assert cli.main(["discover", "--brand", "acme", "--report"]) == 0
        assert "cost per useful candidate -" in capsys.readouterr().out
        assert len(discovery_api.requests_to(BRAVE_PATH)) == 1  # the report calls no API
        monkeypatch.setenv("COUNTERFEIT_BRANDS", "globex")  # a shell scoped to another tenant
        for argv in (["discover", "--brand", "acme"], ["discover", "--brand", "acme", "--report"]):
            assert cli.main(argv) == 2
            assert "forbidden" in capsys.readouterr().err.lower()
        assert len(discovery_api.requests_to(BRAVE_PATH)) == 1
    finally:
        get_settings.cache_clear()


def test_monthly_budget_spans_runs(runtime, demo_dir, tmp_path, discovery_api, public_web):
    from datetime import UTC, datetime, timedelta

    deps, bus = runtime
    kit = kit_with(
        tmp_path, demo_dir, web_detection=APPROVED, image_search=APPROVED, max_cost_usd_per_month=0.02
    )
    register_brand(deps, kit)
    srcs = sources(discovery_api, public_web.port)  # nothing served: every image 404s, no scans
    last_month = datetime.now(UTC).replace(day=1) - timedelta(days=2)
    deps.docs.set(paths.discovery_run_path("acme", "old"), {"started_at": last_month, "cost_usd": 5.0})
    first = run_sweep(deps, "acme", sources=srcs, drain=bus.drain, sleep=no_sleep)
    assert (first.requests, round(first.cost_usd, 6), first.skipped_units) == (
        3,
        0.017,
        [],
    )  # last month: not counted
    second = run_sweep(deps, "acme", sources=srcs, drain=bus.drain, sleep=no_sleep)
    assert second.requests == 0 and second.cost_usd == 0
    assert {u.rsplit(": ", 1)[1] for u in second.skipped_units} == {"monthly budget"}
    assert len(second.skipped_units) == 3


def test_hostile_api_answers_are_neither_fetched_nor_stored_as_given(
    runtime, tmp_path, discovery_api, public_web
):
    from tests.support.kits import jpeg_bytes, pattern_image, tiny_kit

    deps, _bus = runtime
    kit = tiny_kit(tmp_path / "tiny")
    doc = json.loads((kit / "brand.json").read_text()) | {"discovery": {"image_search": APPROVED}}
    (kit / "brand.json").write_text(json.dumps(doc))
    register_brand(deps, kit)
    good = f"http://i.ebayimg.com:{public_web.port}/images/g/ok.jpg"
    public_web.serve("/images/g/ok.jpg", jpeg_bytes(pattern_image(3, (96, 72))))
    results = [
        {"type": "image_result", "properties": {"url": bad}, "url": "https://www.ebay.com/itm/1"}
        for bad in ("javascript:alert(1)", "data:image/png;base64,AAAA", "ftp://i.ebayimg.com/x.jpg",
                    f"http://i.ebayimg.com:{public_web.port}/" + "a" * 5000, "", None)
    ] + [{"type": "image_result", "properties": {"url": good}, "url": "javascript:alert(document.cookie)",
          "title": "ACME\x00 roadster\x1b[31m " + "x" * 3000}]  # fmt: skip
    discovery_api.script(BRAVE_PATH, (200, {}, json.dumps({"type": "images", "results": results}).encode()))
    srcs = {"image_search": BraveImageSearchSource(api_key="k", endpoint=discovery_api.endpoint)}
    result = run_sweep(deps, "acme", sources=srcs, sleep=no_sleep)  # no drain: the scan is started, not run
    # "" and None never become sightings; the other four are invalid and never fetched
    assert (result.found, result.invalid, result.unique_images, len(result.scanned)) == (5, 4, 1, 1)
    assert public_web.fetched() == ["/images/g/ok.jpg"]
    scan = deps.docs.get(paths.scan_path("acme", result.scanned[0]))
    assert scan["listing"]["url"] == good  # the javascript: page was dropped; the image stands in for it
    assert (
        scan["listing"]["title"].startswith("ACME roadster[31m x") and len(scan["listing"]["title"]) == 2000
    )
    assert scan["listing"]["marketplace"] == "i.ebayimg.com"


def test_a_spent_time_budget_leaves_the_fetching_to_the_next_run(
    runtime, tmp_path, discovery_api, public_web
):
    from common.discovery.scheduled import sweep_scheduled
    from common.messages import DiscoveryRequested
    from tests.support.kits import tiny_kit

    deps, _bus = runtime
    kit = tiny_kit(tmp_path / "tiny")
    doc = json.loads((kit / "brand.json").read_text()) | {"discovery": {"image_search": APPROVED}}
    (kit / "brand.json").write_text(json.dumps(doc))
    register_brand(deps, kit)
    discovery_api.script(BRAVE_PATH, (200, {}, stored("brave_images.json", public_web.port)))
    srcs = {"image_search": BraveImageSearchSource(api_key="k", endpoint=discovery_api.endpoint)}
    (summary,) = sweep_scheduled(deps, DiscoveryRequested(), time_budget_s=0, sources=srcs, sleep=no_sleep)
    assert (summary["requests"], summary["unique_images"], summary["not_fetched_time"]) == (1, 3, 3)
    assert public_web.fetched() == [] and deps.docs.list(paths.discovered("acme")) == []
