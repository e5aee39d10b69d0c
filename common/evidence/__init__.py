"""Evidence bundles for verdicts: images, comparison, signals, screenshot, PDF report and a SHA-256 manifest."""

from common.evidence.bundle import (
    BundleResult,
    build_bundle,
    build_bundle_result,
    evidence_doc_path,
    verify_recorded,
)
from common.evidence.manifest import verify_bundle

__all__ = [
    "BundleResult",
    "evidence_doc_path",
    "build_bundle",
    "build_bundle_result",
    "verify_bundle",
    "verify_recorded",
]
