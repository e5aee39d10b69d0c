"""What every review-page handler shares: the stores (scoped to the signed-in reviewer), the page renderer and
the brand / item checks. One ``ReviewContext`` per app; ``common.review.app`` builds it and the route modules
(``session``, ``routes``, ``case_routes``) register their handlers on it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, abort, g, has_request_context, render_template, request
from jinja2 import Template

from common.authz import Principal, scoped_deps
from common.bootstrap import Deps
from common.messages import BRAND_PATTERN, ID_PATTERN
from common.review import queue_views, templates
from common.review.auth import IAP_CERTS_TTL_S
from common.review.queue import get_item
from common.review.queue_list import QueueFilters


@dataclass
class ReviewContext:
    app: Flask
    deps_factory: Callable[[], Deps]
    trust_iap: bool | None
    iap_audience: str | None
    iap_certs: Callable[[], dict[str, str]]
    state: dict[str, Any] = field(default_factory=dict)

    def deps(self) -> Deps:
        """The reviewer's view of the stores: scoped to the signed-in principal's brands (common.authz), so a
        handler that forgets ``check_brand`` still cannot read another brand."""
        if "deps" not in self.state:
            self.state["deps"] = self.deps_factory()
        principal = g.get("principal") if has_request_context() else None
        return scoped_deps(self.state["deps"], principal) if principal is not None else self.state["deps"]

    def iap_on(self) -> bool:
        if self.trust_iap is not None:
            return self.trust_iap
        return bool(getattr(self.deps().settings, "review_trust_iap", False))

    def audience(self) -> str | None:
        return self.iap_audience or getattr(self.deps().settings, "review_iap_audience", None) or None

    def certs(self) -> dict[str, str]:
        cached = self.state.get("iap_certs")
        if cached is None or time.monotonic() - cached[0] > IAP_CERTS_TTL_S:
            cached = (time.monotonic(), self.iap_certs())
            self.state["iap_certs"] = cached
        return dict(cached[1])

    def template(self, source: str) -> Template:
        """The compiled template of ``source``, compiled once per app: compiling the page templates on every
        request cost ~200 ms of a ~250 ms item page (measured), the ceiling on a reviewer's decisions."""
        cache: dict[str, Template] = self.state.setdefault("templates", {})
        if source not in cache:
            cache[source] = self.app.jinja_env.from_string(source)
        return cache[source]

    def render(self, body: str, status: int = 200, **ctx: Any) -> Response:
        principal: Principal | None = g.get("principal")
        html = render_template(
            self.template(body),
            base=self.template(templates.BASE),
            reviewer=principal.subject if principal else "",
            csrf_token=g.get("csrf_token", ""),
            **ctx,
        )
        return Response(html, status=status, mimetype="text/html")

    def check_brand(self, brand: str) -> None:
        if not re.fullmatch(BRAND_PATTERN, brand):
            abort(404)
        if not g.principal.allows(brand):
            abort(403)

    def load(self, brand: str, scan_id: str) -> Any:
        self.check_brand(brand)
        if not re.fullmatch(ID_PATTERN, scan_id):
            abort(404)
        item = get_item(self.deps().docs, brand, scan_id)
        if item is None:
            abort(404)
        return item

    def view_brands(self) -> list[str]:
        brand = request.args.get("brand") or ""
        if brand:
            self.check_brand(brand)
            return [brand]
        return sorted(g.principal.brands)

    def view_filters(self, args: Any = None) -> QueueFilters:
        try:
            return queue_views.parse_filters(request.args if args is None else args)
        except queue_views.BadFilter as exc:
            abort(400, description=str(exc))
