"""The same review flow and evidence bundle on the GCP adapters against the real emulators (Firestore and the
storage emulator): queries, the decision transaction and gs:// bundle verification work off SQLite too."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.adapters.gcp import FirestoreDocumentStore, GcsBlobStore
from common.adapters.local import InProcessBus
from common.bootstrap import Deps
from common.evidence import build_bundle_result, verify_bundle, verify_recorded
from common.review.app import create_review_app
from common.review.queue import verdict_from_doc
from common.settings import Settings
from tests.support.emulator_stack import emulators, stack_env  # noqa: F401  (session fixture)
from tests.support.review_seed import seed_review_data

pytestmark = pytest.mark.emulator


@pytest.fixture
def gcp_deps(emulators, tmp_path: Path) -> Iterator[tuple[Deps, str]]:  # noqa: F811
    with stack_env(emulators) as env:
        settings = Settings.from_env(env)
        brand_token = f"tok-{uuid.uuid4().hex[:8]}"
        settings = Settings(**{**settings.__dict__, "review_tokens": {brand_token: ("acme",)}})
        deps = Deps(
            settings=settings,
            blobs=GcsBlobStore(settings),
            docs=FirestoreDocumentStore(settings),
            publisher=InProcessBus(),
        )
        deps.clock = lambda: datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
        for brand in ("acme", "other"):  # a clean tenant: the emulator is shared by the session
            for collection in ("verdicts", "scans", "evidence"):
                for path, _ in deps.docs.list(f"brands/{brand}/{collection}"):
                    deps.docs.delete(path)
        seed_review_data(deps, tmp_path)
        yield deps, brand_token


def test_review_flow_on_firestore(gcp_deps: tuple[Deps, str]) -> None:
    deps, token = gcp_deps
    client = create_review_app(lambda: deps).test_client()
    headers = {"Authorization": f"Bearer {token}"}
    ids = re.findall(r'data-scan="([^"]+)"', client.get("/", headers=headers).text)
    assert ids == ["s-t1-new", "s-t1-old", "s-t2-new", "s-t2-old"]
    assert client.get("/?brand=other", headers=headers).status_code == 403
    image = client.get("/brands/acme/items/s-t1-new/images/candidate", headers=headers)
    assert image.status_code == 200 and image.mimetype == "image/jpeg"
    resp = client.post(
        "/brands/acme/items/s-t1-new/decision",
        data={"decision": "reject", "note": "genuine"},
        headers=headers,
    )
    assert resp.status_code == 303
    review = deps.docs.get("brands/acme/verdicts/s-t1-new")["review"]
    assert (review["decision"], review["note"]) == ("rejected", "genuine")
    ids = re.findall(r'data-scan="([^"]+)"', client.get("/", headers=headers).text)
    assert ids == ["s-t1-old", "s-t2-new", "s-t2-old"]


def test_bundle_in_the_storage_emulator_verifies(gcp_deps: tuple[Deps, str]) -> None:
    deps, _ = gcp_deps
    verdict = verdict_from_doc(deps.docs.get("brands/acme/verdicts/s-t1-old"))
    result = build_bundle_result(deps, verdict)
    assert result.location == f"gs://{deps.settings.evidence_bucket}/acme/s-t1-old/"
    assert "reference.jpg" in result.files and "candidate.jpg" in result.files
    assert verify_recorded(deps, "acme", "s-t1-old") == []
    deps.blobs.write(deps.settings.evidence_bucket, "acme/s-t1-old/planted.txt", b"x")
    assert verify_bundle(result.location, deps=deps) == [
        "planted.txt: present in the bundle but not listed in the manifest"
    ]
