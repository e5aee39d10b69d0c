"""Discovery: finding candidate images on the web (seed 004 Step 1, Tools 1 and 5) instead of waiting for
uploads and marketplace pushes. ``port`` (what a source is), ``web_detection`` (Cloud Vision), ``image_search``
(Brave Search), ``hosts`` (where a page lives), ``sweep`` (fetch, dedupe, ingest), ``report`` (coverage).
See docs/discovery.md."""
