"""Where every document and tenant blob lives: the one module that spells paths.

Tenant documents are always under ``brands/{brand_id}/...`` and tenant blobs always start with ``{brand_id}/`` (or
``_listings/{brand_id}/`` for webhook uploads), which is what the brand-scoped stores in ``common.authz`` check;
keeping the spelling here keeps that promise checkable in one place. docs/ARCHITECTURE.md "Where data lives"
describes the fields.
"""

from __future__ import annotations

# ---------------------------------------------------------------- documents (DocumentStore paths)


def brand(brand_id: str) -> str:
    return f"brands/{brand_id}"


def references(brand_id: str) -> str:
    return f"brands/{brand_id}/references"


def reference(brand_id: str, ref_id: str) -> str:
    return f"{references(brand_id)}/{ref_id}"


def reference_views(brand_id: str) -> str:
    """Embedding vectors of reference views (one per view; the Firestore vector index reads this collection)."""
    return f"brands/{brand_id}/reference_views"


def scans(brand_id: str) -> str:
    return f"brands/{brand_id}/scans"


def scan_path(brand_id: str, scan_id: str) -> str:
    return f"{scans(brand_id)}/{scan_id}"


def verdicts(brand_id: str) -> str:
    return f"brands/{brand_id}/verdicts"


def verdict_path(brand_id: str, scan_id: str) -> str:
    return f"{verdicts(brand_id)}/{scan_id}"


def evidence_doc_path(brand_id: str, scan_id: str) -> str:
    """Where the evidence manifest digest is recorded (out of reach of anyone who can write the bundle)."""
    return f"brands/{brand_id}/evidence/{scan_id}"


def callback_path(brand_id: str, scan_id: str, action: str | None = None) -> str:
    """The delivery record of a callback: ``block_listing`` at the scan id (as always), other actions
    (``hold_for_review``, ``release``) at ``{scan_id}:{action}``."""
    return f"brands/{brand_id}/callbacks/{scan_id}" + (f":{action}" if action else "")


def cases(brand_id: str) -> str:
    return f"brands/{brand_id}/cases"


def case_path(brand_id: str, scan_id: str) -> str:
    """An enforcement case (common/enforcement/cases.py)."""
    return f"{cases(brand_id)}/{scan_id}"


def case_events(brand_id: str, scan_id: str) -> str:
    """The case's append-only audit trail: documents ``{seq:06d}``, only ever created."""
    return f"{case_path(brand_id, scan_id)}/events"


def queue(brand_id: str) -> str:
    """The review queue: one row per listing (common/review/queue_docs.py), the latest verdict and its history."""
    return f"brands/{brand_id}/queue"


def queue_path(brand_id: str, listing_id: str) -> str:
    return f"{queue(brand_id)}/{listing_id}"


def clusters(brand_id: str) -> str:
    """Listing clusters (common/clusters): union-find nodes, a root holds the cluster's members' summary."""
    return f"brands/{brand_id}/clusters"


def cluster_path(brand_id: str, cluster_id: str) -> str:
    return f"{clusters(brand_id)}/{cluster_id}"


def cluster_members(brand_id: str) -> str:
    """One document per clustered listing: the cluster node it joined, its seller, marketplace, tier, links."""
    return f"brands/{brand_id}/cluster_members"


def cluster_member_path(brand_id: str, listing_id: str) -> str:
    return f"{cluster_members(brand_id)}/{listing_id}"


def cluster_keys(brand_id: str) -> str:
    """Exact keys shared by listings (seller id, store URL) -> a cluster node that holds them."""
    return f"brands/{brand_id}/cluster_keys"


def cluster_key_path(brand_id: str, key_id: str) -> str:
    return f"{cluster_keys(brand_id)}/{key_id}"


def cluster_prints(brand_id: str) -> str:
    """Image fingerprints of clustered listings (PDQ bits and embedding as vector fields: nearest search)."""
    return f"brands/{brand_id}/cluster_prints"


def cluster_print_path(brand_id: str, listing_id: str) -> str:
    return f"{cluster_prints(brand_id)}/{listing_id}"


def closeups(brand_id: str) -> str:
    """Features of the kit's genuine close-ups (common/authenticate/kit.py); never the photos themselves."""
    return f"brands/{brand_id}/closeups"


def listing_key_path(brand_id: str, key_digest: str) -> str:
    """Webhook/CLI idempotency: listing id + content digest -> scan id."""
    return f"brands/{brand_id}/listings/{key_digest}"


def hashlists(brand_id: str) -> str:
    return f"brands/{brand_id}/hashlists"


def hashlist_chunks(brand_id: str) -> str:
    return f"brands/{brand_id}/hashlist_chunks"


def discovered(brand_id: str) -> str:
    """Images discovery found on the web, one document per image URL (common/discovery/sweep.py)."""
    return f"brands/{brand_id}/discovered"


def discovered_path(brand_id: str, url_digest: str) -> str:
    return f"{discovered(brand_id)}/{url_digest}"


def discovered_content_path(brand_id: str, sha256: str) -> str:
    """The first scan of an image's bytes, whatever URL they were found at (content dedup)."""
    return f"brands/{brand_id}/discovered_content/{sha256}"


def discovery_runs(brand_id: str) -> str:
    """One document per discovery sweep: requests, cost, counts, errors (the coverage report reads them)."""
    return f"brands/{brand_id}/discovery_runs"


def discovery_run_path(brand_id: str, run_id: str) -> str:
    return f"{discovery_runs(brand_id)}/{run_id}"


def marketplace(marketplace_id: str) -> str:
    return f"marketplaces/{marketplace_id}"


def webhook_nonce(digest: str) -> str:
    return f"webhook_nonces/{digest}"


def processed_event(step: str, safe_event_id: str) -> str:
    return f"processed_events/{step}:{safe_event_id}"


# ---------------------------------------------------------------- blobs (names inside their bucket)


def working_copy(brand_id: str, scan_id: str) -> str:
    """Work bucket: the normalised PNG every channel reads."""
    return f"{brand_id}/{scan_id}.png"


def keypoints(brand_id: str, scan_id: str) -> str:
    """Work bucket: the working copy's SIFT keypoints (.npz), shared by logo matching and copy verification."""
    return f"{brand_id}/{scan_id}.sift.npz"


def listing_upload(brand_id: str, scan_id: str) -> str:
    """Candidates bucket: the image bytes of a webhook or CLI listing."""
    return f"_listings/{brand_id}/{scan_id}"


def logo_features(brand_id: str, version: str, sha256: str) -> str:
    """References bucket: SIFT features of one kit logo."""
    return f"{brand_id}/features/logo-v{version}/{sha256}.npz"


def discovery_reference(brand_id: str, sha256: str) -> str:
    """References bucket: a reference photo staged for Web Detection, only while the brand opts in (the cloud
    sweep has no kit folder to read it from)."""
    return f"{brand_id}/discovery/{sha256}"


def copy_features(brand_id: str, sha256: str) -> str:
    """References bucket: SIFT features of one reference photo (copy verification)."""
    return f"{brand_id}/features/copy-{sha256[:20]}.npz"


def vector_index(brand_id: str, model: str) -> str:
    """References bucket: the brand's nearest-neighbour graph of one embedding model (common/embedding/ann.py).
    Keyed by the model id (``name@version``): vectors of another model never share a graph."""
    safe = "".join(c if c.isalnum() or c in "._@-" else "_" for c in model)
    return f"{brand_id}/indexes/embed-{safe}.ann"


def mark_detector(brand_id: str, key: str) -> str:
    """References bucket: the brand's trained mark detector (weights .npz; common/vision/mark_training.py), named
    by its training key so an unchanged kit finds its model and a retrained one never overwrites a model a
    running scan still reads."""
    return f"{brand_id}/detector/mark-{key}.npz"
