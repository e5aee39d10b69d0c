"""Find the matched genuine reference image for a verdict, from the brand's own kit only.

Why only the kit directory: reference images never leave our code (DESIGN: no third-party APIs); the bundle and
the review page copy them from the brand's registered kit (``kit_dir`` on the brand doc) and check the bytes
still hash to the ``sha256`` recorded at registration.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from common import paths
from common.brands import read_kit_file
from common.errors import BadInput
from common.messages import Verdict

if TYPE_CHECKING:
    from common.bootstrap import Deps

KIND_FOLDERS = {"reference": "references", "logo": "logos"}


@dataclass(frozen=True)
class ReferenceImage:
    ref_id: str
    filename: str
    data: bytes
    sha256: str
    origin: str


def parse_reference_id(raw: str) -> tuple[str, str] | None:
    """(kind, filename) from ``"reference:front.jpg"`` or ``"references/front.jpg"``; None if unsafe."""
    if ":" in raw:
        kind, filename = raw.split(":", 1)
    elif "/" in raw:
        folder, filename = raw.rsplit("/", 1)
        kind = "logo" if folder.rstrip("/").endswith("logos") else "reference"
    else:
        kind, filename = "reference", raw
    if kind not in KIND_FOLDERS or not filename or Path(filename).name != filename or filename in (".", ".."):
        return None
    return kind, filename


def best_reference_id(verdict: Verdict) -> str | None:
    """The verdict's best reference, else the reference of its strongest fired signal."""
    if verdict.best_reference:
        return verdict.best_reference
    fired = [s for s in verdict.signals.values() if s.status == "fired" and s.reference]
    fired.sort(key=lambda s: s.score or 0.0, reverse=True)
    return fired[0].reference if fired else None


def find_reference(
    deps: Deps, brand_doc: dict[str, Any], verdict: Verdict, notes: list[str]
) -> ReferenceImage | None:
    """The reference image bytes, or None with the reason appended to ``notes``."""
    raw = best_reference_id(verdict)
    if raw is None:
        notes.append("no reference matched, so no reference image is included")
        return None
    if raw.startswith("hashlist:"):  # common.hashlists: an imported list entry has no image of ours
        notes.append(
            f"matched {raw[:200]}, an entry of an imported hash list (its provenance is in the hash signal's "
            "detail); there is no reference image to include"
        )
        return None
    parsed = parse_reference_id(raw)
    if parsed is None:
        notes.append("the matched reference id is not a kit file name")
        return None
    kind, filename = parsed
    ref_id = f"{kind}:{filename}"
    ref_doc = deps.docs.get(paths.reference(verdict.brand_id, ref_id)) or {}
    kit_dir = brand_doc.get("kit_dir")
    if not kit_dir:
        notes.append(f"reference {ref_id}: the brand has no local kit directory to copy it from")
        return None
    path = Path(str(kit_dir)) / KIND_FOLDERS[kind] / filename
    if not path.is_file():
        notes.append(f"reference {ref_id}: not found in the brand kit")
        return None
    try:  # the kit may have changed since registration: same rules as brand add (inside the kit, size first)
        data = read_kit_file(Path(str(kit_dir)), path, deps.settings.max_image_bytes)
    except BadInput as exc:
        notes.append(f"reference {ref_id}: {exc}")
        return None
    digest = hashlib.sha256(data).hexdigest()
    expected = ref_doc.get("sha256")
    if expected and expected != digest:
        notes.append(f"reference {ref_id}: kit file changed since registration (SHA-256 differs)")
    return ReferenceImage(
        ref_id=ref_id, filename=filename, data=data, sha256=digest, origin=f"kit:{path.name}"
    )
