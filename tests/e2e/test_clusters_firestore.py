"""Clusters on the Firestore emulator: the same union-find code the CLI runs on SQLite, through the GCP
DocumentStore adapter (transactions) and the Firestore print index (``find_nearest`` with a distance threshold
over ``pdq_vector`` and ``embedding`` vector fields)."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime

import pytest

from common import paths
from common.bootstrap import build_deps
from common.clusters import fingerprints as fp
from common.clusters import views
from common.clusters.membership import add_listing
from common.clusters.print_index import FirestorePrintIndex
from common.messages import Verdict
from common.settings import Settings
from tests.support.emulator_stack import stack_env

pytestmark = pytest.mark.emulator
T0 = datetime(2026, 11, 22, 9, tzinfo=UTC)


def _pdq(seed: int, flips: int = 0) -> str:
    value = random.Random(seed).getrandbits(256)
    for bit in random.Random(seed * 1000 + flips).sample(range(256), flips):
        value ^= 1 << bit
    return f"{value:064x}"


def _unit(*values: float) -> list[float]:
    norm = sum(v * v for v in values) ** 0.5
    return [v / norm for v in values]


def _add(deps, brand: str, listing: str, hex_value: str | None, emb: list[float] | None = None, **fields):  # type: ignore[no-untyped-def]
    verdict = Verdict(scan_id=f"s-{listing}", brand_id=brand, listing_id=listing, tier=fields.pop("tier", 1),
                      score=0.9, signals={}, rule="weighted", created_at=T0)  # fmt: skip
    prints = fp.Prints(hex_value, None, emb, "toy@1" if emb else None)
    return add_listing(deps, {"listing_id": listing, **fields}, verdict, prints)


def _partition(deps, brand: str) -> set[frozenset[str]]:  # type: ignore[no-untyped-def]
    return {
        frozenset(m["listing_id"] for m in views.members(deps.docs, brand, c))
        for c in views.list_clusters(deps.docs, brand, min_size=1)
    }


def test_incremental_clusters_on_firestore(emulators) -> None:  # type: ignore[no-untyped-def]
    brand, other = f"cl{uuid.uuid4().hex[:8]}", f"co{uuid.uuid4().hex[:8]}"
    with stack_env(emulators) as env:
        deps = build_deps(Settings.from_env(env))
        deps.clock = lambda: T0
        assert isinstance(deps.prints, FirestorePrintIndex)
        _add(deps, brand, "a", _pdq(1), seller_id="x", marketplace="m1")
        out = _add(deps, brand, "b", _pdq(1, 31), seller_id="y", marketplace="m2")  # exactly the threshold
        assert [(lk.kind, lk.to, lk.value) for lk in out.links] == [("pdq", "a", 31)]
        _add(deps, brand, "c", _pdq(1, 33), seller_id="z", marketplace="m2")  # just beyond it
        _add(deps, brand, "d", _pdq(2), _unit(1, 0.1, 0), seller_id="w", marketplace="m1", tier=2)
        _add(deps, brand, "e", _pdq(3), _unit(1, 0.11, 0.01), seller_id="v", marketplace="m3", tier=3)
        assert _partition(deps, brand) == {frozenset("ab"), frozenset("c"), frozenset("de")}
        # a bridging listing: the image of a/b, the seller of d -> one cluster, the smaller root absorbed
        _add(deps, brand, "f", _pdq(1, 4), seller_id="w", marketplace="m1")
        # the same listings in another brand: never joined to the first brand's clusters
        _add(deps, other, "a", _pdq(1), seller_id="x", marketplace="m1")
        _add(deps, other, "g", _pdq(1, 2), seller_id="q", marketplace="m1")

        fresh = build_deps(Settings.from_env(env))  # another process: everything read back from Firestore
        assert _partition(fresh, brand) == {frozenset("abdef"), frozenset("c")}
        assert _partition(fresh, other) == {frozenset("ag")}
        [big] = views.list_clusters(fresh.docs, brand)
        assert big["size"] == 5 and big["tiers"] == {"1": 3, "2": 1, "3": 1}
        assert big["marketplaces"] == {"m1": 3, "m2": 1, "m3": 1} and len(big["absorbed"]) >= 1
        for absorbed in big["absorbed"]:
            assert views.resolve(fresh.docs, brand, absorbed)[0] == big["cluster_id"]
        members = fresh.docs.query(paths.cluster_members(other))
        assert {doc["brand_id"] for _p, doc in members} == {other}
        near = fresh.prints.near(brand, "pdq_vector", fp.pdq_vector(_pdq(1)), fp.PDQ_MIN_COSINE, 10)
        assert [n for n, _c in near][:1] == ["a"] and {n for n, _c in near} == {"a", "b", "f"}
