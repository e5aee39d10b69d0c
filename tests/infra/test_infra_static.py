"""Offline static checks of infra/: `terraform fmt`, a checkov security scan, and (opt-in) `terraform validate`.

CI needs the `terraform` binary (1.5+) and checkov in its own virtual environment:
    python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov
(checkov pins many libraries; keeping it out of .venv avoids fights with the project's own pins).
`terraform validate` needs the hashicorp/google providers, i.e. network access to the Terraform registry, so it
only runs with INFRA_TERRAFORM_VALIDATE=1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from _infra_hcl import INFRA, ROOT, tf_files

CHECKOV = Path(os.environ.get("CHECKOV_BIN", ROOT / ".venv-checkov" / "bin" / "checkov"))
# A skip must say why in words; "CKV_GCP_1:ok" is not a justification.
MIN_JUSTIFICATION_CHARS = 40
SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")


def _terraform() -> str:
    path = shutil.which("terraform")
    if path is None:
        pytest.fail("terraform is not installed: CI must install Terraform >= 1.5 (see docs/deploy.md)")
    return path


def test_terraform_fmt_is_clean() -> None:
    result = subprocess.run(
        [_terraform(), "fmt", "-check", "-recursive", "-diff", "infra"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}\n{result.stderr}"


def test_every_checkov_skip_is_justified() -> None:
    skips = []
    for path in tf_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = SKIP_COMMENT.search(line)
            if match:
                reason = (match.group(2) or "").strip()
                where = f"{path.relative_to(ROOT)}:{number}"
                assert len(reason) >= MIN_JUSTIFICATION_CHARS, (
                    f"{where}: skip of {match.group(1)} lacks a reason"
                )
                skips.append(match.group(1))
    assert skips, "expected the documented skips (CMEK, bucket access logs, per-function ingress)"


def _checkov_results() -> list[dict]:
    if not CHECKOV.is_file():
        pytest.fail(
            f"checkov not found at {CHECKOV}: python3 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov"
        )
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(INFRA),
            "--framework",
            "terraform",
            "--compact",
            "--skip-download",
            "-o",
            "json",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE"},
    )
    assert result.stdout.strip(), (
        f"checkov printed nothing (exit {result.returncode}):\n{result.stderr[-2000:]}"
    )
    parsed = json.loads(result.stdout)
    return parsed if isinstance(parsed, list) else [parsed]


def test_checkov_finds_no_unexplained_failures() -> None:
    reports = _checkov_results()
    failed = [c for r in reports for c in r.get("results", {}).get("failed_checks", [])]
    assert not failed, "checkov failures:\n" + "\n".join(
        f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']}): {c['check_name']}"
        for c in failed
    )
    passed = [c for r in reports for c in r.get("results", {}).get("passed_checks", [])]
    skipped = [c for r in reports for c in r.get("results", {}).get("skipped_checks", [])]
    # The scan really looked at the deployment: buckets, IAM and every function instance were evaluated.
    resources = {c["resource"] for c in passed + skipped}
    assert any(r.startswith("module.storage.google_storage_bucket.this") for r in resources)
    assert any(r.startswith("module.iam.") for r in resources)
    assert sum(".google_cloudfunctions2_function.this" in r for r in resources) >= 2
    for check in skipped:
        comment = (check.get("check_result") or {}).get("suppress_comment") or ""
        assert len(comment) >= MIN_JUSTIFICATION_CHARS, (
            f"{check['check_id']} on {check['resource']}: no reason"
        )


@pytest.mark.skipif(
    os.environ.get("INFRA_TERRAFORM_VALIDATE") != "1",
    reason="terraform validate downloads the google providers; set INFRA_TERRAFORM_VALIDATE=1 where it can",
)
def test_terraform_validate(tmp_path: Path) -> None:
    work = tmp_path / "infra"
    shutil.copytree(INFRA, work, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    for args in (["init", "-backend=false", "-input=false"], ["validate"]):
        result = subprocess.run(
            [_terraform(), f"-chdir={work}", *args], capture_output=True, text=True, timeout=600
        )
        assert result.returncode == 0, f"terraform {args[0]} failed:\n{result.stdout}\n{result.stderr}"
