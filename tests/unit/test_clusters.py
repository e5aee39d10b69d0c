"""Clusters (common/clusters): exact keys, the stored incremental union-find, the near-duplicate links, on the
real local store (SQLite) with fingerprints made to measure (PDQ bits flipped on purpose, tiny embeddings)."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common import paths
from common.bootstrap import Deps, build_deps
from common.clusters import fingerprints as fp
from common.clusters import views
from common.clusters.keys import listing_keys, normalise_store_url
from common.clusters.membership import add_listing
from common.messages import Verdict
from common.settings import Settings

T0 = datetime(2026, 11, 1, tzinfo=UTC)
MODEL = "toy@1"


def pdq(seed: int, flips: int = 0) -> str:
    """A random 256-bit hash (per seed), with ``flips`` of its bits flipped (a near-duplicate)."""
    value = random.Random(seed).getrandbits(256)
    for bit in random.Random(seed * 1000 + flips).sample(range(256), flips):
        value ^= 1 << bit
    return f"{value:064x}"


def prints(hex_value: str | None = None, embedding: list[float] | None = None) -> fp.Prints:
    return fp.Prints(hex_value, None, embedding, MODEL if embedding else None)


def unit(*values: float) -> list[float]:
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


def verdict(listing: str, scan: str, brand: str = "acme", tier: int = 1, hours: int = 0) -> Verdict:
    return Verdict(scan_id=scan, brand_id=brand, listing_id=listing, tier=tier, score=0.9, signals={},
                   rule="weighted", created_at=T0 + timedelta(hours=hours))  # fmt: skip


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    d = build_deps(Settings(home=tmp_path / "home"))
    d.clock = lambda: T0
    return d


def add(deps: Deps, listing: str, p: fp.Prints, brand: str = "acme", scan: str | None = None, **fields):  # type: ignore[no-untyped-def]
    data = {"listing_id": listing, **fields}
    return add_listing(deps, data, verdict(listing, scan or f"s-{listing}", brand, fields.pop("tier", 1)), p)


def partition(deps: Deps, brand: str = "acme") -> set[frozenset[str]]:
    out = set()
    for _path, doc in deps.docs.query(paths.clusters(brand)):
        if doc.get("root"):
            out.add(frozenset(m["listing_id"] for m in views.members(deps.docs, brand, doc)))
    return out


def test_store_urls_normalise_to_host_and_path() -> None:
    same = ["https://www.Shop.example/store/Alpha/", "http://shop.example/store/Alpha?ref=mail#top",
            "shop.example//store/Alpha/index.html", "https://m.shop.example/store/Alpha"]  # fmt: skip
    assert {normalise_store_url(u) for u in same} == {"shop.example/store/Alpha"}
    assert normalise_store_url("https://shop.example/store/Beta") == "shop.example/store/Beta"
    assert normalise_store_url("www.example.com") == "example.com"
    for nothing in (None, "", "   ", "alpha", "http://"):
        assert normalise_store_url(nothing) is None


def test_seller_keys_are_scoped_to_their_marketplace() -> None:
    one = listing_keys({"seller_id": "s-1", "marketplace": "shopmart"})
    other = listing_keys({"seller_id": "s-1", "marketplace": "bazaar"})
    assert [k.value for k in one] == ["shopmart/s-1"] and one[0].doc_id != other[0].doc_id
    assert listing_keys({"seller_id": "  "}) == []


def test_pdq_distance_is_exact_as_a_cosine() -> None:
    a, b = pdq(1), pdq(1, flips=31)
    dot = sum(x * y for x, y in zip(fp.pdq_vector(a), fp.pdq_vector(b), strict=True))
    assert fp.pdq_distance(dot) == 31 and dot >= fp.PDQ_MIN_COSINE
    assert sum(x * y for x, y in zip(fp.pdq_vector(a), fp.pdq_vector(pdq(1, 33)), strict=True)) < (
        fp.PDQ_MIN_COSINE
    )


def test_near_duplicate_image_links_listings_across_sellers_and_marketplaces(deps: Deps) -> None:
    add(deps, "a", prints(pdq(1)), seller_id="s1", marketplace="shopmart")
    out = add(deps, "b", prints(pdq(1, flips=12)), seller_id="s2", marketplace="bazaar")
    assert [(lk.kind, lk.to, lk.value) for lk in out.links] == [("pdq", "a", 12)]
    add(deps, "c", prints(pdq(1, flips=40)), seller_id="s3", marketplace="bazaar")  # beyond 31 bits
    add(deps, "d", prints(None, unit(1, 0.1, 0)), seller_id="s4")
    add(deps, "e", prints(None, unit(1, 0.12, 0.01)), seller_id="s5")  # cosine ~0.9999
    add(deps, "f", prints(None, unit(0.5, 1, 0)), seller_id="s6")  # cosine ~0.53: another photo
    assert partition(deps) == {frozenset("ab"), frozenset("c"), frozenset("de"), frozenset("f")}
    root = views.cluster_of_listing(deps.docs, "acme", "b")
    assert root is not None
    summary = root[1]
    assert summary["size"] == 2 and summary["marketplaces"] == {"shopmart": 1, "bazaar": 1}
    assert summary["sellers"] == {"shopmart/s1": 1, "bazaar/s2": 1} and summary["links"] == {"pdq": 1}


def test_a_bridging_listing_merges_two_clusters(deps: Deps) -> None:
    add(deps, "a1", prints(pdq(1)), seller_id="x", marketplace="m1")
    add(deps, "a2", prints(pdq(1, flips=5)), seller_id="y", marketplace="m2")
    add(deps, "b1", prints(pdq(2)), seller_id="z", marketplace="m1", tier=2)
    add(deps, "b2", prints(pdq(3)), seller_id="z", marketplace="m1", tier=3)
    assert partition(deps) == {frozenset({"a1", "a2"}), frozenset({"b1", "b2"})}
    before = {c["cluster_id"] for c in views.list_clusters(deps.docs, "acme")}
    out = add(
        deps, "bridge", prints(pdq(1, flips=9)), seller_id="z", marketplace="m1"
    )  # image of a, seller of b
    assert partition(deps) == {frozenset({"a1", "a2", "b1", "b2", "bridge"})}
    [root] = views.list_clusters(deps.docs, "acme")
    assert root["cluster_id"] == out.cluster_id and root["cluster_id"] in before
    assert set(root["absorbed"]) & before  # the other root became a child node, not copied members
    assert root["size"] == 5 and root["tiers"] == {"1": 3, "2": 1, "3": 1} and root["best_tier"] == 1
    assert root["sellers"] == {"m1/x": 1, "m2/y": 1, "m1/z": 3}
    loser = (before - {root["cluster_id"]}).pop()
    assert views.resolve(deps.docs, "acme", loser) == (root["cluster_id"], root)  # old links still resolve


def _listings() -> list[tuple[str, fp.Prints, dict[str, str]]]:
    return [
        ("p1", prints(pdq(10)), {"seller_id": "u1", "marketplace": "m1"}),
        ("p2", prints(pdq(10, flips=20)), {"seller_id": "u2", "marketplace": "m2"}),
        ("p3", prints(pdq(11)), {"seller_id": "u2", "marketplace": "m2"}),
        ("p4", prints(pdq(12)), {"seller_id": "u4", "store_url": "https://www.s.example/shop/7"}),
        ("p5", prints(pdq(13)), {"seller_id": "u5", "store_url": "http://s.example/shop/7/"}),
        ("p6", prints(pdq(14)), {"seller_id": "u6", "marketplace": "m1"}),
        ("p7", prints(pdq(14, flips=3)), {"seller_id": "u7", "store_url": "s.example/shop/7"}),
        ("p8", prints(pdq(15)), {"seller_id": "u8"}),
    ]


def test_clusters_do_not_depend_on_the_order_verdicts_arrive_in(tmp_path: Path) -> None:
    expected = {frozenset({"p1", "p2", "p3"}), frozenset({"p4", "p5", "p6", "p7"}), frozenset({"p8"})}
    orders = list(itertools.permutations(range(8)))
    for n, order in enumerate(random.Random(5).sample(orders, 12)):
        deps = build_deps(Settings(home=tmp_path / f"h{n}"))
        deps.clock = lambda: T0
        rows = _listings()
        for i in order:
            listing, p, fields = rows[i]
            add(deps, listing, p, **fields)
        assert partition(deps) == expected, order
        sizes = sorted(c["size"] for c in views.list_clusters(deps.docs, "acme", min_size=1))
        assert sizes == [1, 3, 4]


def test_a_rescan_of_the_same_listing_does_not_duplicate_it(deps: Deps) -> None:
    add(deps, "a", prints(pdq(1)), seller_id="s1", marketplace="m1")
    add(deps, "b", prints(pdq(1, 2)), seller_id="s2", marketplace="m1")
    first = add(deps, "b", prints(pdq(1, 2)), seller_id="s2", marketplace="m1")  # redelivered: same scan
    rescan = add_listing(deps, {"listing_id": "b", "seller_id": "s2", "marketplace": "m1"},
                         verdict("b", "s-b-2", tier=2, hours=5), prints(pdq(1, 4)))  # fmt: skip
    assert first.cluster_id == rescan.cluster_id
    [root] = views.list_clusters(deps.docs, "acme")
    assert root["size"] == 2 and root["tiers"] == {"1": 1, "2": 1} and root["links"] == {"pdq": 1}
    assert root["last_seen"] == T0 + timedelta(hours=5)
    member = deps.docs.get(paths.cluster_member_path("acme", "b"))
    assert member["scan_id"] == "s-b-2" and len(member["links"]) == 1
    # an older scan arriving late keeps the latest scan's fields
    add_listing(deps, {"listing_id": "b", "seller_id": "s2", "marketplace": "m1"},
                verdict("b", "s-b-0", tier=3, hours=-5), prints(pdq(1, 2)))  # fmt: skip
    member = deps.docs.get(paths.cluster_member_path("acme", "b"))
    assert member["scan_id"] == "s-b-2" and member["first_seen"] == T0 - timedelta(hours=5)
    [root] = views.list_clusters(deps.docs, "acme")
    assert root["size"] == 2 and root["tiers"] == {"1": 1, "2": 1}


def test_a_cluster_never_spans_brands(deps: Deps) -> None:
    for brand in ("acme", "other"):
        add(deps, "a", prints(pdq(1)), brand=brand, seller_id="s1", marketplace="m1")
        add(deps, "b", prints(pdq(1, 3)), brand=brand, seller_id="s1", marketplace="m1")
    add(deps, "c", prints(pdq(1, 1)), brand="other", seller_id="s9")
    assert partition(deps, "acme") == {frozenset("ab")}
    assert partition(deps, "other") == {frozenset("abc")}
    for _path, doc in deps.docs.query(paths.cluster_members("acme")):
        assert doc["brand_id"] == "acme"
    assert deps.prints.near("acme", "pdq_vector", fp.pdq_vector(pdq(1, 1)), fp.PDQ_MIN_COSINE, 10) == [
        ("a", pytest.approx(1 - 2 / 256, abs=1e-5)),
        ("b", pytest.approx(1 - 8 / 256, abs=1e-5)),
    ]


def test_seller_ranking_counts_confirmed_listings_across_marketplaces(deps: Deps) -> None:
    rows = [("l1", "m1", "bad", "confirmed"), ("l2", "m2", "bad", "confirmed"), ("l3", "m1", "bad", None),
            ("l4", "m1", "meh", "confirmed"), ("l5", "m1", "ok", "rejected")]  # fmt: skip
    for listing, market, seller, decision in rows:
        deps.docs.set(paths.queue_path("acme", listing), {"listing_id": listing, "marketplace": market,
                      "seller_id": seller, "decision": decision})  # fmt: skip
        add(deps, listing, prints(pdq(hash(listing) % 1000)), seller_id=seller, marketplace=market)
    add(deps, "l6", prints(pdq(hash("l1") % 1000, 2)), seller_id="alias", marketplace="m3")
    ranked = views.seller_ranking(deps.docs, "acme")
    assert [(r["seller_id"], r["confirmed"]) for r in ranked] == [("bad", 2), ("meh", 1)]
    assert ranked[0]["marketplaces"] == {"m1": 1, "m2": 1}
    assert "m3/alias" in ranked[0]["linked_accounts"]


def test_backfill_clusters_verdicts_recorded_before_the_step(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Verdicts, scans and working copies without clusters -> the same clusters the step makes; a rerun
    skips every verdict; the CLI refuses a brand COUNTERFEIT_BRANDS does not allow."""
    from common import cli
    from common.clusters.backfill import backfill_clusters
    from tests.support.cluster_seed import seed_clusters

    monkeypatch.setenv("COUNTERFEIT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("COUNTERFEIT_BACKEND", "local")
    from common.settings import get_settings

    get_settings.cache_clear()
    deps = build_deps(get_settings())
    deps.clock = lambda: T0
    seed_clusters(deps, cluster=False)
    deps._model = None  # the real model: embeddings as the chain makes them
    report = backfill_clusters(deps, "acme")
    assert (report.read, report.clustered, report.already) == (6, 6, 0)
    assert frozenset({"dup-a", "dup-b", "dup-c", "dup-d", "dup-e"}) in partition(deps)
    again = backfill_clusters(deps, "acme")
    assert (again.clustered, again.already) == (0, 6)
    monkeypatch.setenv("COUNTERFEIT_BRANDS", "other")
    assert cli.main(["clusters", "backfill", "--brand", "acme"]) == 2
    monkeypatch.delenv("COUNTERFEIT_BRANDS")
    assert cli.main(["clusters", "backfill", "--brand", "other"]) == 0
    assert partition(deps, "other") == {frozenset({"dup-x"})}
    get_settings.cache_clear()
