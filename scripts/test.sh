#!/usr/bin/env bash
# README command 2: the test suite (arguments go to pytest, e.g. -k ocr or -m "not e2e").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[[ -x .venv/bin/pytest ]] || bash scripts/bootstrap.sh --no-up
# One tesseract thread per process: OpenMP threads make OCR ~5x slower here.
export OMP_THREAD_LIMIT=1
exec .venv/bin/python -m pytest "$@"
