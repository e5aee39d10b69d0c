"""Which channels did not run in a scan batch, and why: one summary on stderr instead of a reason per verdict.

Why: a channel that cannot run (no model file, OCR models missing, Cloud Vision without credentials) marks its
signal "not run" or "error" on every verdict, which counts neither for nor against, so a broken install only
shows as lower recall. The CLI prints this tally after the table (or the JSON lines, which keep every signal's
status and reason as before). A by-design skip (the hash short-circuit decided) is not a failure and is left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

SKIPPED_PREFIX = "skipped:"  # the reason fusion's short-circuit gives the channels it did not need
MAX_REASON = 300


class ChannelTally:
    def __init__(self) -> None:
        self.items = 0
        self.reasons: dict[tuple[str, str], Counter[str]] = {}

    def observe(self, record: dict[str, Any]) -> None:
        if "error" in record:
            return  # the item itself failed; its record already says why
        self.items += 1
        for name, signal in (record.get("signals") or {}).items():
            status = signal.get("status")
            reason = str(signal.get("reason") or "no reason given")
            if status not in ("not_run", "error") or reason.startswith(SKIPPED_PREFIX):
                continue
            self.reasons.setdefault((name, status), Counter())[reason] += 1

    def track(self, records: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for record in records:
            self.observe(record)
            yield record

    def summary_lines(self) -> list[str]:
        lines = []
        for (name, status), reasons in sorted(self.reasons.items()):
            count = sum(reasons.values())
            top, _ = reasons.most_common(1)[0]
            verb = "failed" if status == "error" else "did not run"
            more = f" (and {len(reasons) - 1} other reason(s))" if len(reasons) > 1 else ""
            lines.append(f"  {name} {verb} on {count}/{self.items} item(s): {top[:MAX_REASON]}{more}")
        if not lines:
            return []
        header = "channels that did not run in this batch:"
        hint = (
            ["  `counterfeit doctor` lists what this install is missing and the command that fixes it"]
            if any(
                status == "error" or "unavailable" in r
                for (_, status), rs in self.reasons.items()
                for r in rs
            )
            else []
        )
        return [header, *lines, *hint]
