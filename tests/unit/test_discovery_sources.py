"""The discovery adapters at their boundary: the real google-cloud-vision client (REST transport) and the real
``requests`` session talk to a loopback server answering with stored API responses (tests/data/discovery),
including per-image errors, 429s (rate and quota), 403/401 and 5xx. No network, no mocks of the clients."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from common.brand_model import Brand
from common.discovery import port
from common.discovery.image_search import BraveImageSearchSource, queries_for
from common.discovery.optin import DiscoveryKit
from common.discovery.port import ApiError, QuotaExhausted, ReferencePhoto, with_backoff
from common.discovery.web_detection import MAX_IMAGES_PER_REQUEST, WebDetectionSource
from tests.support.discovery_apis import BRAVE_PATH, VISION_PATH, stored
from tests.support.kits import jpeg_bytes, pattern_image

BRAND = Brand(
    brand_id="acme",
    display_name="ACME",
    trademarks=["ACME", "Acme Roadster"],
    colors=[],
    authorized_sellers=[],
    barcodes=[],
    reference_price=None,
    currency=None,
    category="motorbike accessories",
    spi=None,
    version="1",
)
PORT = 8123


def photos(n: int, side: int = 1400) -> list[ReferencePhoto]:
    return [
        ReferencePhoto(f"reference:r{i}.jpg", f"{i:064x}", jpeg_bytes(pattern_image(i, (side, side))))
        for i in range(n)
    ]


def ok(name: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return 200, headers, stored(name, PORT)


def error(status: int, name: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    return status, {k.replace("_", "-"): v for k, v in headers.items()}, stored(name)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# -- Cloud Vision Web Detection ------------------------------------------------------------------------------


def test_web_detection_sends_resized_references_and_reads_every_field(discovery_api):
    discovery_api.script(VISION_PATH, ok("vision_two_references.json"))
    source = WebDetectionSource(endpoint=discovery_api.endpoint)
    units = source.plan(BRAND, photos(2), DiscoveryKit(max_results=30))
    assert [u.origins for u in units] == [("reference:r0.jpg", "reference:r1.jpg")] and units[
        0
    ].billed_units == 2
    result = source.call(units[0])

    (body,) = discovery_api.vision_bodies()
    assert [r["features"] for r in body["requests"]] == [
        [{"type": 10, "maxResults": 30}]
    ] * 2  # WEB_DETECTION
    assert body["requests"][0]["imageContext"] == {"webDetectionParams": {"includeGeoResults": True}}
    sent = Image.open(io.BytesIO(base64.b64decode(body["requests"][0]["image"]["content"])))
    assert sent.format == "JPEG" and max(sent.size) == 1024  # a reduced copy, never the kit file

    by_ref = {o: [(s.match, s.image_url.split("/")[-1], s.page_url) for s in result.sightings if s.origin == o]
              for o in units[0].origins}  # fmt: skip
    assert by_ref["reference:r0.jpg"] == [
        ("full_matching", "71s1exact.jpg", "https://www.amazon.com/dp/B0CXR7ACME"),
        ("full_matching", "s1pin.jpg", "https://www.pinterest.com/pin/562949953421312/"),
        ("partial_matching", "S2modified.jpg", "https://www.aliexpress.com/item/1005006012345678.html"),
        ("visually_similar", "s17lookalike.jpg", None),
        ("visually_similar", "token", None),
    ]
    first = next(s for s in result.sightings if s.page_url and "amazon" in s.page_url)
    assert first.page_title == "ACME Roadster Tank Emblem Motorcycle Decal - Amazon.com"
    about = result.about["reference:r0.jpg"]
    assert about["entities"][0] == {"description": "Motorcycle", "score": 0.8131}
    assert about["best_guess_labels"] == ["acme roadster"]
    assert (about["full_matching"], about["partial_matching"], about["pages"], about["visually_similar"]) == (
        2,
        1,
        3,
        2,
    )
    assert result.errors == {}


def test_web_detection_pages_requests_of_at_most_16_images(discovery_api):
    def answer(req):
        n = len(json.loads(req.body)["requests"])
        return (
            200,
            {"Content-Type": "application/json"},
            json.dumps({"responses": [{"webDetection": {}}] * n}).encode(),
        )

    discovery_api.server.routes[VISION_PATH] = answer
    source = WebDetectionSource(endpoint=discovery_api.endpoint)
    units = source.plan(BRAND, photos(MAX_IMAGES_PER_REQUEST + 4, side=64), DiscoveryKit())
    assert [u.billed_units for u in units] == [16, 4]
    for unit in units:
        assert set(source.call(unit).about) == set(unit.origins)
    assert [len(b["requests"]) for b in discovery_api.vision_bodies()] == [16, 4]


def test_a_per_image_error_is_that_reference_s_error_only(discovery_api):
    discovery_api.script(VISION_PATH, ok("vision_image_error.json"))
    source = WebDetectionSource(endpoint=discovery_api.endpoint)
    (unit,) = source.plan(BRAND, photos(2, side=64), DiscoveryKit())
    result = source.call(unit)
    assert result.errors == {"reference:r0.jpg": "Cloud Vision error 3: Bad image data."}
    assert [s.origin for s in result.sightings] == ["reference:r1.jpg"]


def test_vision_5xx_and_rate_limit_are_retried_honouring_retry_after(discovery_api):
    discovery_api.script(
        VISION_PATH,
        error(503, "vision_503.json"),
        error(429, "vision_429.json", Retry_After="7"),
        ok("vision_image_error.json"),
    )
    source = WebDetectionSource(endpoint=discovery_api.endpoint)
    (unit,) = source.plan(BRAND, photos(2, side=64), DiscoveryKit())
    sleeps = Sleeps()
    result = with_backoff(lambda: source.call(unit), sleep=sleeps)
    assert len(discovery_api.vision_bodies()) == 3 and "reference:r1.jpg" in result.about
    assert (
        0 <= sleeps[0] <= port.BACKOFF_BASE_S and sleeps[1] == 7.0
    )  # jittered backoff, then the server's wait


def test_vision_daily_quota_and_disabled_api_are_not_retried(discovery_api):
    source = WebDetectionSource(endpoint=discovery_api.endpoint)
    (unit,) = source.plan(BRAND, photos(1, side=64), DiscoveryKit())
    discovery_api.script(VISION_PATH, error(429, "vision_429_daily.json"))
    with pytest.raises(QuotaExhausted, match="Requests per day"):
        with_backoff(lambda: source.call(unit), sleep=Sleeps())
    discovery_api.script(VISION_PATH, error(403, "vision_403.json"))
    with pytest.raises(ApiError, match="HTTP 403") as exc:
        with_backoff(lambda: source.call(unit), sleep=Sleeps())
    assert not exc.value.retryable
    assert len(discovery_api.vision_bodies()) == 2  # one call each: nothing retried


def test_retries_stop_after_the_last_attempt_and_long_waits_become_a_quota(discovery_api):
    source = WebDetectionSource(endpoint=discovery_api.endpoint)
    (unit,) = source.plan(BRAND, photos(1, side=64), DiscoveryKit())
    discovery_api.script(VISION_PATH, error(503, "vision_503.json"))
    sleeps = Sleeps()
    with pytest.raises(ApiError, match="HTTP 503"):
        with_backoff(lambda: source.call(unit), sleep=sleeps)
    assert len(discovery_api.vision_bodies()) == port.MAX_ATTEMPTS and len(sleeps) == port.MAX_ATTEMPTS - 1
    discovery_api.script(VISION_PATH, error(429, "vision_429.json", Retry_After="3600"))
    with pytest.raises(QuotaExhausted, match="next run"):
        with_backoff(lambda: source.call(unit), sleep=Sleeps())


# -- Brave image search --------------------------------------------------------------------------------------


def test_queries_are_trademarks_with_the_category():
    assert queries_for(BRAND) == ["ACME motorbike accessories", "Acme Roadster motorbike accessories"]
    assert queries_for(BRAND, ["fake"]) == [
        "ACME motorbike accessories fake",
        "Acme Roadster motorbike accessories fake",
    ]


def test_brave_request_and_response(discovery_api):
    discovery_api.script(BRAVE_PATH, ok("brave_images.json"))
    source = BraveImageSearchSource(api_key="test-key", endpoint=discovery_api.endpoint)
    units = source.plan(BRAND, [], DiscoveryKit(max_results=200, country="GB"))
    assert [u.payload["q"] for u in units] == [
        "ACME motorbike accessories",
        "Acme Roadster motorbike accessories",
    ]
    result = source.call(units[0])
    (req,) = discovery_api.requests_to(BRAVE_PATH)
    assert req.headers["X-Subscription-Token"] == "test-key" and req.headers["Accept"] == "application/json"
    assert "q=ACME+motorbike+accessories" in req.path and "count=200" in req.path and "country=GB" in req.path
    assert [(s.image_url.split("/")[-1], s.page_url) for s in result.sightings] == [
        ("s6composite.jpg", "https://www.ebay.com/itm/395012345678"),
        ("s7text.jpg", "https://www.reddit.com/r/motorcycles/comments/1h2x3y4/found_this/"),
        ("s18used.jpg", "https://www.etsy.com/listing/1587654321/acme-roadster-tank"),
    ]
    assert result.sightings[0].page_title == "ACME coffee cup motorbike gift NEW"
    assert result.about == {"ACME motorbike accessories": {"results": 3, "altered": None}}


def test_brave_rate_limit_waits_the_reset_and_a_used_up_quota_stops(discovery_api):
    source = BraveImageSearchSource(api_key="k", endpoint=discovery_api.endpoint)
    unit = source.plan(BRAND, [], DiscoveryKit())[0]
    limited = error(
        429, "brave_rate_limited.json", X_RateLimit_Limit="1, 2000", X_RateLimit_Remaining="0, 1869",
        X_RateLimit_Reset="1, 1419704",
    )  # fmt: skip
    discovery_api.script(BRAVE_PATH, limited, ok("brave_images.json"))
    sleeps = Sleeps()
    assert len(with_backoff(lambda: source.call(unit), sleep=sleeps).sightings) == 3
    assert sleeps == [1.0]
    used_up = error(
        429, "brave_quota_exhausted.json", X_RateLimit_Limit="1, 2000", X_RateLimit_Remaining="1, 0",
        X_RateLimit_Reset="1, 1419704",
    )  # fmt: skip
    discovery_api.script(BRAVE_PATH, used_up)
    with pytest.raises(QuotaExhausted, match="QUOTA_LIMITED.*monthly quota"):
        with_backoff(lambda: source.call(unit), sleep=Sleeps())


def test_brave_bad_key_and_missing_key(discovery_api):
    discovery_api.script(BRAVE_PATH, error(401, "brave_unauthorized.json"))
    source = BraveImageSearchSource(api_key="wrong", endpoint=discovery_api.endpoint)
    unit = source.plan(BRAND, [], DiscoveryKit())[0]
    with pytest.raises(ApiError, match="401 SUBSCRIPTION_TOKEN_INVALID") as exc:
        with_backoff(lambda: source.call(unit), sleep=Sleeps())
    assert exc.value.status == 401 and len(discovery_api.requests_to(BRAVE_PATH)) == 1
    with pytest.raises(ApiError, match="BRAVE_SEARCH_API_KEY"):
        BraveImageSearchSource(api_key=None, endpoint=discovery_api.endpoint).call(unit)
    assert len(discovery_api.requests_to(BRAVE_PATH)) == 1  # nothing sent without a key


def test_retry_after_forms():
    assert port.parse_retry_after("12") == 12.0
    assert port.parse_retry_after(None) is None and port.parse_retry_after("soon") is None
    assert port.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait


def test_the_brave_key_placeholder_means_no_key():
    from common.settings import Settings

    assert Settings.from_env({"BRAVE_SEARCH_API_KEY": " - "}).brave_api_key is None
    assert Settings.from_env({"BRAVE_SEARCH_API_KEY": ""}).brave_api_key is None
    assert Settings.from_env({"BRAVE_SEARCH_API_KEY": "-BSAkey"}).brave_api_key == "-BSAkey"
    assert "BSA" not in repr(Settings.from_env({"BRAVE_SEARCH_API_KEY": "BSAsecret"}))  # never in logs
