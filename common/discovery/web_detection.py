"""Cloud Vision Web Detection on the brand's reference photos (seed 004 Tool 1: "where else does this image
appear?"), through the google-cloud-vision client.

The REST transport, so ``DISCOVERY_VISION_ENDPOINT`` can point the real client at any HTTP endpoint: the tests'
loopback server answers with stored ``images:annotate`` responses (tests/data/discovery). Retries are ours
(``port.with_backoff``), not the client's, so every source backs off, honours Retry-After and stops on an
exhausted quota the same way. Only references go out, and only when the brand enabled ``web_detection``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from common.brand_model import Brand
from common.discovery.port import (
    WEB_DETECTION,
    ApiError,
    QuotaExhausted,
    ReferencePhoto,
    Sighting,
    Unit,
    UnitResult,
    parse_retry_after,
)

# images:annotate takes at most 16 images per request (Cloud Vision "Quotas and limits"); bytes are capped
# well under the 40 MB JSON request limit (base64 adds a third).
MAX_IMAGES_PER_REQUEST = 16
MAX_REQUEST_IMAGE_BYTES = 8 * 1024 * 1024
UPLOAD_SIDE = 1024  # Web Detection matches at thumbnail scale; larger uploads only cost time
USD_PER_1000 = 3.50  # Web Detection, 1,001-5,000,000 units/month (first 1,000/month free)
TIMEOUT_S = 60.0


def upload_bytes(data: bytes) -> bytes:
    """A reference photo as sent: JPEG, longest side at most UPLOAD_SIDE (never the kit file itself)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.draft("RGB", (UPLOAD_SIDE, UPLOAD_SIDE))
        rgb = img.convert("RGB")
    rgb.thumbnail((UPLOAD_SIDE, UPLOAD_SIDE))
    buf = io.BytesIO()
    rgb.save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def batches(photos: Sequence[tuple[str, bytes]]) -> list[list[tuple[str, bytes]]]:
    """Photos grouped into requests of at most MAX_IMAGES_PER_REQUEST images and MAX_REQUEST_IMAGE_BYTES."""
    out: list[list[tuple[str, bytes]]] = []
    current: list[tuple[str, bytes]] = []
    size = 0
    for ref_id, data in photos:
        if current and (len(current) == MAX_IMAGES_PER_REQUEST or size + len(data) > MAX_REQUEST_IMAGE_BYTES):
            out.append(current)
            current, size = [], 0
        current.append((ref_id, data))
        size += len(data)
    if current:
        out.append(current)
    return out


def sightings_of(response: Any, origin: str) -> tuple[list[Sighting], dict[str, Any]]:
    """A ``WebDetection`` as sightings. Pages name the images they show (full and partial); top-level images no
    page named stand alone (page None), as do visually similar images (other photos, often other products)."""
    web = response.web_detection
    found: list[Sighting] = []
    on_pages: set[str] = set()
    for page in web.pages_with_matching_images:
        for kind, images in (
            ("full_matching", page.full_matching_images),
            ("partial_matching", page.partial_matching_images),
        ):
            for img in images:
                if img.url:
                    on_pages.add(img.url)
                    found.append(
                        Sighting(img.url, page.url, page.page_title or None, WEB_DETECTION, kind, origin)
                    )
    for kind, images in (
        ("full_matching", web.full_matching_images),
        ("partial_matching", web.partial_matching_images),
        ("visually_similar", web.visually_similar_images),
    ):
        for img in images:
            if img.url and img.url not in on_pages:
                found.append(Sighting(img.url, None, None, WEB_DETECTION, kind, origin))
    about = {
        "entities": [
            {"description": e.description, "score": round(float(e.score), 4)}
            for e in web.web_entities
            if e.description
        ][:20],
        "best_guess_labels": [label.label for label in web.best_guess_labels],
        "full_matching": len(web.full_matching_images),
        "partial_matching": len(web.partial_matching_images),
        "pages": len(web.pages_with_matching_images),
        "visually_similar": len(web.visually_similar_images),
    }
    return found, about


def api_error(exc: Exception) -> ApiError:
    """A google-api-core exception (or a connection failure) as the port's ApiError."""
    from google.api_core import exceptions as gexc

    if isinstance(exc, gexc.GoogleAPICallError):
        status = int(exc.code) if exc.code is not None else None
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None) or {}
        retry_after = parse_retry_after(headers.get("Retry-After"))
        message = f"Cloud Vision HTTP {status}: {str(exc.message)[:300]}"
        if status == 429 and "per day" in str(exc.message).lower():
            return QuotaExhausted(message, retry_after=retry_after)
        retryable = status is not None and (status == 429 or status >= 500)
        return ApiError(message, status=status, retryable=retryable, retry_after=retry_after)
    return ApiError(f"Cloud Vision unreachable ({exc.__class__.__name__})", status=None, retryable=True)


class WebDetectionSource:
    """``images:annotate`` with WEB_DETECTION, up to 16 references per request (one billed unit each)."""

    name = WEB_DETECTION
    sends_references = True
    usd_per_1000_units = USD_PER_1000

    def __init__(self, endpoint: str | None = None, client: Any = None) -> None:
        self._endpoint = endpoint
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            from google.cloud import vision

            kwargs: dict[str, Any] = {"transport": "rest"}
            if self._endpoint:
                from google.auth.credentials import AnonymousCredentials

                # A configured endpoint is a test server or a proxy that adds its own credentials: ADC would
                # send a Google token to it.
                kwargs |= {
                    "client_options": {"api_endpoint": self._endpoint},
                    "credentials": AnonymousCredentials(),
                }
            self._client = vision.ImageAnnotatorClient(**kwargs)
        return self._client

    def plan(self, brand: Brand, references: Sequence[ReferencePhoto], settings: Any) -> list[Unit]:
        photos = [(ref.ref_id, upload_bytes(ref.data)) for ref in references]
        max_results = int(getattr(settings, "max_results", 50))
        return [
            Unit(tuple(r for r, _ in batch), len(batch), {"photos": batch, "max_results": max_results})
            for batch in batches(photos)
        ]

    def call(self, unit: Unit) -> UnitResult:
        from google.cloud import vision

        requests = [
            {
                "image": {"content": data},
                "features": [
                    {"type_": vision.Feature.Type.WEB_DETECTION, "max_results": unit.payload["max_results"]}
                ],
                "image_context": {"web_detection_params": {"include_geo_results": True}},
            }
            for _, data in unit.payload["photos"]
        ]
        try:
            batch = self.client.batch_annotate_images(requests=requests, retry=None, timeout=TIMEOUT_S)
        except Exception as exc:  # every failure of the exchange becomes an ApiError the sweep can judge
            raise api_error(exc) from exc
        result = UnitResult()
        responses = list(batch.responses)
        for i, origin in enumerate(unit.origins):
            if i >= len(responses):
                result.errors[origin] = "Cloud Vision returned no response for this image"
                continue
            response = responses[i]
            if response.error.message:
                result.errors[origin] = (
                    f"Cloud Vision error {response.error.code}: {response.error.message[:300]}"
                )
                continue
            found, about = sightings_of(response, origin)
            result.sightings.extend(found)
            result.about[origin] = about
        return result
