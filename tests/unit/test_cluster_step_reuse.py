"""What the cluster step no longer computes or reads more than once: the PDQ keys it needs only (the same values
as ``compute_hashes``), one read of the brand's prints for all its range questions, and documents stored and
read back without a Python walk over their vectors (datetimes and numpy values still round-trip)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from common import hashing, paths
from common.bootstrap import Deps, build_deps
from common.clusters import fingerprints as fp
from common.ports import NearQuery
from common.settings import Settings
from tests.support.kits import pattern_image


@pytest.fixture
def deps(tmp_path: Path) -> Deps:
    return build_deps(Settings(home=tmp_path / "home"))


def test_pdq_hashes_are_compute_hashes_own_values() -> None:
    for image in (pattern_image(5, (500, 340)), pattern_image(9, (300, 300))):
        full = hashing.compute_hashes(image, variants=True)
        assert hashing.pdq_hashes(image, ("", "fliplr")) == {
            "pdq": full["pdq"],
            "pdq_fliplr": full["pdq_fliplr"],
        }
    flat = Image.new("RGB", (200, 200), (128, 128, 128))
    assert hashing.pdq_hashes(flat, ("", "fliplr")) == {}
    assert "pdq" not in hashing.compute_hashes(flat, variants=True)


def _store_print(deps: Deps, listing: str, hex_value: str, embedding: list[float], when: datetime) -> None:
    p = fp.Prints(hex_value, None, embedding, "toy@1")
    deps.docs.set(paths.cluster_print_path("acme", listing), p.doc(listing, when))


def test_near_many_answers_as_near_does_from_one_read(deps: Deps) -> None:
    base = "f" * 64
    near = "e" + "f" * 63  # 1 bit away
    far = "0" * 64
    when = datetime(2026, 12, 3, tzinfo=UTC)
    _store_print(deps, "l-1", base, [1.0, 0.0], when)
    _store_print(deps, "l-2", near, [0.96, 0.28], when)
    _store_print(deps, "l-3", far, [0.0, 1.0], when)
    queries = [
        NearQuery("pdq_vector", fp.pdq_vector(base), fp.PDQ_MIN_COSINE, 50),
        NearQuery("pdq_vector", fp.pdq_vector(far), fp.PDQ_MIN_COSINE, 50),
        NearQuery("embedding", [1.0, 0.0], 0.95, 50, model="toy@1"),
        NearQuery("embedding", [1.0, 0.0], 0.95, 50, model="other@1"),
    ]
    reads: list[Any] = []
    original = deps.docs.query

    def counting(*args: Any, **kwargs: Any) -> Any:
        reads.append(args[0])
        return original(*args, **kwargs)

    deps.docs.query = counting  # type: ignore[method-assign]
    together = deps.prints.near_many("acme", queries)
    assert len(reads) == 1
    one_by_one = [
        deps.prints.near("acme", q.field, q.vector, q.min_cosine, q.limit, q.model) for q in queries
    ]
    assert together == one_by_one
    assert [[i for i, _ in hits] for hits in together] == [["l-1", "l-2"], ["l-3"], ["l-1", "l-2"], []]
    with pytest.raises(ValueError):
        deps.prints.near_many("acme", [NearQuery("pdq", [1.0], 0.5, 1)])


def test_documents_round_trip_datetimes_and_numpy_values_in_any_nesting(deps: Deps) -> None:
    when = datetime(2026, 12, 3, 17, 0, 1, 250000, tzinfo=UTC)
    doc = {
        "at": when,
        "rows": [[when, 1.5], {"inner": [when]}],
        "pair": (1, "two"),
        "vector": np.array([0.25, -0.5], np.float32),
        "count": np.int64(7),
        "plain": [0.1, 2, "x", None, True],
        "looks_tagged": {"__datetime__": when, "other": 1},
    }
    deps.docs.set("things/t-1", doc)
    back = deps.docs.get("things/t-1")
    assert back == {
        "at": when,
        "rows": [[when, 1.5], {"inner": [when]}],
        "pair": [1, "two"],
        "vector": [0.25, -0.5],
        "count": 7,
        "plain": [0.1, 2, "x", None, True],
        "looks_tagged": {"__datetime__": when, "other": 1},
    }
    assert deps.docs.query("things") == [("things/t-1", back)]
    with pytest.raises(TypeError):
        deps.docs.set("things/t-2", {"bad": {1, 2}})
