"""Reference photos staged for Web Detection, written and removed by ``brand add``.

Why a staged copy: the scheduled sweep runs in a cloud function that has no kit folder, and reference photos are
otherwise never stored (only features are). The copy exists only while the brand's ``web_detection`` opt-in is
on; turning it off and running ``brand add`` again deletes it. Its own module so ``common.brands`` can call it
without importing the sweep (which reads brands).
"""

from __future__ import annotations

from collections.abc import Sequence

from common import paths
from common.bootstrap import Deps
from common.discovery.optin import DiscoveryKit


def stage_references(
    deps: Deps, brand_id: str, kit: DiscoveryKit, photos: Sequence[tuple[str, bytes]]
) -> int:
    """``photos``: (sha256, bytes) of the kit's reference photos (never logos). Returns how many are staged."""
    bucket = deps.settings.references_bucket
    prefix = paths.discovery_reference(brand_id, "")
    wanted = (
        {paths.discovery_reference(brand_id, sha): data for sha, data in photos}
        if kit.web_detection.enabled
        else {}
    )
    for name in deps.blobs.list(bucket, prefix):
        if name not in wanted:
            deps.blobs.delete(bucket, name)
    for name, data in wanted.items():
        if deps.blobs.generation(bucket, name) is None:
            deps.blobs.write(bucket, name, data, content_type="application/octet-stream")
    return len(wanted)
