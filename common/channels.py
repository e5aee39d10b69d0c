"""The channel protocol: one signature for every channel, and the runner that adds registered signals.

A channel turns one candidate into named signals. Each has a module with a ``CHANNEL`` object satisfying
``Channel``; ``run_channel`` runs it, then every signal of that channel that the registry (``common.signals``)
gives its own ``produce`` function, and returns the signals in registry order. The pipeline's steps call only
``run_channel``, so a new signal in an existing channel needs no pipeline change.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from common import signals as registry
from common.messages import Listing, Preprocessed, Signal

if TYPE_CHECKING:
    from PIL import Image

    from common.bootstrap import Deps
    from common.brand_model import Brand
    from common.vision.sift import Keypoints

# channel name -> module whose CHANNEL implements it
CHANNEL_MODULES: dict[str, str] = {
    "hash": "common.hashlists",
    "embed": "common.embedding.channel",
    "logo_ocr": "common.vision.channel",
    "listing": "common.listing_signals",
}


@dataclass
class Candidate:
    """What a channel may look at: the listing, what preprocess learned, the working copy and its SIFT keypoints
    (each loaded lazily: the listing channel never needs pixels)."""

    listing: Listing
    pre: Preprocessed | None = None
    load_image: Callable[[], Image.Image] | None = None
    load_keypoints: Callable[[], Keypoints] | None = None
    # False: the logo_ocr channel leaves OCR to the chain's second look (common.funnel), which fuse asks for only
    # when the image's text could still change the tier
    read_text: bool = True
    _image: Image.Image | None = field(default=None, repr=False)
    _keypoints: Keypoints | None = field(default=None, repr=False)

    @property
    def image(self) -> Image.Image:
        if self._image is None:
            if self.load_image is None:
                raise ValueError("this candidate carries no image")
            self._image = self.load_image()
        return self._image

    def keypoints(self) -> Keypoints:
        """The candidate's one SIFT pass, shared by logo matching and copy verification (``common.vision.sift``):
        the one preprocess stored when there is one, else computed here from the working copy."""
        if self._keypoints is None:
            if self.load_keypoints is not None:
                self._keypoints = self.load_keypoints()
            else:
                from common.vision.sift import candidate_keypoints

                self._keypoints = candidate_keypoints(self.image)
        return self._keypoints


class Channel(Protocol):
    name: str

    def run(self, deps: Deps, brand: Brand, candidate: Candidate) -> dict[str, Signal]: ...


SignalFn = Callable[["Deps", "Brand", Candidate], Signal]


def channel(name: str) -> Channel:
    found: Channel = importlib.import_module(CHANNEL_MODULES[name]).CHANNEL
    return found


def producer(path: str) -> SignalFn:
    module, _, fn = path.partition(":")
    found: SignalFn = getattr(importlib.import_module(module), fn)
    return found


def run_channel(name: str, deps: Deps, brand: Brand, candidate: Candidate) -> dict[str, Signal]:
    """The channel's own signals plus its registered standalone ones, in registry order (unregistered last)."""
    out = dict(channel(name).run(deps, brand, candidate))
    for spec in registry.of_channel(name):
        if spec.produce is not None:
            out[spec.name] = producer(spec.produce)(deps, brand, candidate)
    order = [s.name for s in registry.SIGNALS]
    return dict(sorted(out.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order)))
