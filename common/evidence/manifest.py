"""Tamper-evident bundle manifests: the SHA-256 of every file, and the manifest's own digest.

Why a manifest plus an outside digest: anyone who edits a file in the bundle must also edit the manifest to hide
it, and the manifest's digest is recorded with the verdict (``evidence_manifest_sha256``), out of the bundle's
reach. ``verify_bundle`` re-hashes everything and reports each mismatch as a readable problem.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from common.bootstrap import Deps

MANIFEST_NAME = "manifest.json"
BUNDLE_FORMAT = "counterfeit-evidence/1"


@dataclass(frozen=True)
class BundleFile:
    name: str
    data: bytes
    content_type: str


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_manifest(files: list[BundleFile], meta: dict[str, Any]) -> bytes:
    """Canonical JSON (sorted keys) so the same content always gives the same digest."""
    entries = [
        {"name": f.name, "sha256": sha256_hex(f.data), "bytes": len(f.data), "content_type": f.content_type}
        for f in sorted(files, key=lambda f: f.name)
    ]
    body = {"format": BUNDLE_FORMAT, **meta, "files": entries}
    return json.dumps(body, indent=2, sort_keys=True, ensure_ascii=False).encode()


def check_manifest(
    manifest: bytes,
    present: list[str],
    read: Callable[[str], bytes | None],
    expected_digest: str | None = None,
) -> list[str]:
    """Problems found comparing the manifest with the files ``present`` (names relative to the bundle)."""
    problems: list[str] = []
    if expected_digest is not None and sha256_hex(manifest) != expected_digest.lower():
        problems.append("manifest.json digest differs from the digest recorded with the verdict")
    try:
        parsed = json.loads(manifest)
        entries = parsed["files"]
        listed = {str(e["name"]): e for e in entries}
    except (ValueError, KeyError, TypeError):
        return [*problems, "manifest.json is not a valid bundle manifest"]
    if parsed.get("format") != BUNDLE_FORMAT:
        problems.append(f"unknown bundle format {str(parsed.get('format'))[:50]!r}")
    for name, entry in sorted(listed.items()):
        data = read(name)
        if data is None:
            problems.append(f"{name}: listed in the manifest but missing")
            continue
        if sha256_hex(data) != entry.get("sha256"):
            problems.append(f"{name}: SHA-256 differs from the manifest (file was changed)")
        elif len(data) != entry.get("bytes"):
            problems.append(f"{name}: size differs from the manifest")
    for name in sorted(set(present) - set(listed) - {MANIFEST_NAME}):
        problems.append(f"{name}: present in the bundle but not listed in the manifest")
    return problems


def verify_bundle(
    path: str | Path, *, deps: Deps | None = None, expected_digest: str | None = None
) -> list[str]:
    """Every problem with the bundle at ``path`` (a directory, or a gs:// prefix read through ``deps.blobs``).

    An empty list means every file matches the manifest (and the manifest matches ``expected_digest`` if given).
    """
    text = str(path)
    if text.startswith("gs://"):
        if deps is None:
            raise ValueError("verifying a gs:// bundle needs deps (for the blob store)")
        bucket, _, prefix = text[5:].partition("/")
        prefix = prefix.rstrip("/") + "/"
        names = [n[len(prefix) :] for n in deps.blobs.list(bucket, prefix)]

        def read_blob(name: str) -> bytes | None:
            if name not in names:
                return None
            return bytes(deps.blobs.read(bucket, prefix + name))

        manifest = read_blob(MANIFEST_NAME)
        if manifest is None:
            return ["manifest.json is missing"]
        return check_manifest(manifest, names, read_blob, expected_digest)

    root = Path(text)
    if not (root / MANIFEST_NAME).is_file():
        return ["manifest.json is missing"]
    present = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())

    def read_file(name: str) -> bytes | None:
        candidate = root / name
        if Path(name).is_absolute() or ".." in Path(name).parts or not candidate.is_file():
            return None
        return candidate.read_bytes()

    return check_manifest((root / MANIFEST_NAME).read_bytes(), present, read_file, expected_digest)
