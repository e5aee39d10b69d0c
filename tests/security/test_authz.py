"""The brand-scoped ports on the real local adapters (SQLite documents, filesystem blobs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.authz import (
    SERVICE,
    Principal,
    blob_brand,
    doc_brand,
    principal_for_identity,
    principal_for_marketplace,
    principal_for_review_token,
    principal_from_env,
    require_brand,
    scoped_deps,
)
from common.bootstrap import build_deps
from common.errors import BadInput, Forbidden
from common.ports import Filter
from common.settings import Settings

ACME = Principal("tester", frozenset({"acme"}))
BUCKETS = ("counterfeit-candidates", "counterfeit-work", "counterfeit-references", "counterfeit-evidence")


@pytest.fixture
def deps(tmp_path: Path):
    d = build_deps(Settings(home=tmp_path / "home"))
    for brand in ("acme", "globex"):
        d.docs.set(f"brands/{brand}", {"display_name": brand.upper()})
        d.docs.set(f"brands/{brand}/verdicts/s1", {"tier": 1, "listing_id": "l1"})
        d.docs.set(f"brands/{brand}/references/reference:front.jpg", {"sha256": "00"})
        for bucket in BUCKETS:
            d.blobs.write(bucket, f"{brand}/s1/manifest.json", b"{}")
        d.blobs.write("counterfeit-candidates", f"_listings/{brand}/s1", b"img")
    return d


def test_require_brand_names_subject_and_brand_only() -> None:
    require_brand(ACME, "acme")
    require_brand(SERVICE, "anything")
    with pytest.raises(Forbidden, match=r"403 forbidden: tester is not authorised for brand 'globex'"):
        require_brand(ACME, "globex")


@pytest.mark.parametrize(
    ("path", "brand"),
    [
        ("brands", None),
        ("brands/acme", "acme"),
        ("brands/acme/verdicts/x", "acme"),
        ("processed_events/x", None),
    ],
)
def test_doc_brand(path: str, brand: str | None) -> None:
    assert doc_brand(path) == brand


@pytest.mark.parametrize(
    ("name", "brand"),
    [
        ("acme/x.jpg", "acme"),
        ("_listings/acme/s1", "acme"),
        ("acme/", "acme"),
        ("ac", None),
        ("_listings/", None),
    ],
)
def test_blob_brand(name: str, brand: str | None) -> None:
    assert blob_brand(name) == brand


def test_own_brand_documents_read_and_write(deps) -> None:
    scoped = scoped_deps(deps, ACME)
    assert scoped.docs.get("brands/acme/verdicts/s1")["tier"] == 1
    scoped.docs.set("brands/acme/verdicts/s2", {"tier": 2})
    assert deps.docs.get("brands/acme/verdicts/s2") == {"tier": 2}
    assert [p for p, _ in scoped.docs.list("brands/acme/verdicts")] == [
        "brands/acme/verdicts/s1",
        "brands/acme/verdicts/s2",
    ]


@pytest.mark.parametrize(
    "call",
    [
        lambda d: d.get("brands/globex"),
        lambda d: d.get("brands/globex/verdicts/s1"),
        lambda d: d.get("brands/globex/references/reference:front.jpg"),
        lambda d: d.set("brands/globex/verdicts/s9", {"tier": 4}),
        lambda d: d.create("brands/globex/scans/s9", {}),
        lambda d: d.update("brands/globex/verdicts/s1", {"tier": 4}),
        lambda d: d.delete("brands/globex/verdicts/s1"),
        lambda d: d.list("brands/globex/verdicts"),
        lambda d: d.query("brands/globex/verdicts", [Filter("listing_id", "==", "l1")]),
        lambda d: d.get("brands/acme/../globex/verdicts/s1"),
        lambda d: d.transaction(lambda t: t.get("brands/globex/verdicts/s1")),
        lambda d: d.transaction(lambda t: t.set("brands/globex/verdicts/s1", {"tier": 4})),
    ],
)
def test_other_brand_documents_are_forbidden(deps, call) -> None:
    scoped = scoped_deps(deps, ACME)
    with pytest.raises(Forbidden, match="403"):
        call(scoped.docs)
    assert deps.docs.get("brands/globex/verdicts/s1") == {"tier": 1, "listing_id": "l1"}


def test_listing_brands_shows_only_allowed(deps) -> None:
    scoped = scoped_deps(deps, ACME)
    assert [p for p, _ in scoped.docs.list("brands")] == ["brands/acme"]
    assert [p for p, _ in scoped.docs.query("brands", limit=1)] == ["brands/acme"]
    none = scoped_deps(deps, Principal("nobody", frozenset()))
    assert none.docs.list("brands") == []


@pytest.mark.parametrize("bucket", BUCKETS)
def test_other_brand_blobs_are_forbidden_in_every_bucket(deps, bucket: str) -> None:
    scoped = scoped_deps(deps, ACME)
    assert scoped.blobs.read(bucket, "acme/s1/manifest.json") == b"{}"
    for call in (
        lambda b: b.read(bucket, "globex/s1/manifest.json"),
        lambda b: b.write(bucket, "globex/s1/evil.json", b"x"),
        lambda b: b.delete(bucket, "globex/s1/manifest.json"),
        lambda b: b.generation(bucket, "globex/s1/manifest.json"),
        lambda b: b.local_path(bucket, "globex/s1/manifest.json"),
        lambda b: b.list(bucket, "globex/"),
        lambda b: b.read(bucket, "_listings/globex/s1"),
        lambda b: b.read(bucket, "acme/../globex/s1/manifest.json"),
    ):
        with pytest.raises(Forbidden, match="403"):
            call(scoped.blobs)
    assert deps.blobs.read(bucket, "globex/s1/manifest.json") == b"{}"
    assert all(not n.startswith("globex/") for n in scoped.blobs.list(bucket))
    assert "acme/s1/manifest.json" in scoped.blobs.list(bucket)


def test_inline_listing_images_are_scoped(deps) -> None:
    scoped = scoped_deps(deps, ACME)
    assert scoped.blobs.list("counterfeit-candidates", "_listings/") == ["_listings/acme/s1"]
    assert scoped.blobs.read("counterfeit-candidates", "_listings/acme/s1") == b"img"


def test_service_identity_gets_the_unwrapped_deps(deps) -> None:
    assert scoped_deps(deps, SERVICE) is deps


def test_principal_from_env() -> None:
    assert principal_from_env({}).brands is None
    assert principal_from_env({"COUNTERFEIT_BRANDS": "acme, globex"}).brands == frozenset({"acme", "globex"})
    assert principal_from_env({"COUNTERFEIT_BRANDS": ""}).brands == frozenset()
    with pytest.raises(BadInput, match="not a valid brand id"):
        principal_from_env({"COUNTERFEIT_BRANDS": "acme,../x"})


def test_principal_for_marketplace(deps) -> None:
    deps.docs.set("marketplaces/shop", {"brands": ["acme"], "callback_url": "https://shop.example/cb"})
    assert principal_for_marketplace(deps, "shop").brands == frozenset({"acme"})
    assert principal_for_marketplace(deps, "unregistered").brands == frozenset()  # deny by default
    assert principal_for_marketplace(deps, "../brands").brands == frozenset()


def test_principal_for_review_token_and_identity() -> None:
    tokens = {"s3cret-token": ("acme",), "alice@example.com": ("globex",)}
    principal = principal_for_review_token("s3cret-token", tokens)
    assert principal is not None and principal.brands == frozenset({"acme"})
    assert "s3cret" not in principal.subject
    assert principal_for_review_token("wrong", tokens) is None
    iap = principal_for_identity("accounts.google.com:Alice@Example.com", tokens)
    assert iap is not None and iap.brands == frozenset({"globex"})
    with pytest.raises(Forbidden) as info:
        require_brand(principal, "globex")
    assert "s3cret" not in str(info.value)
