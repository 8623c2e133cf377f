#!/usr/bin/env bash
# README command 1 on a fresh Debian/Ubuntu: install what is missing, then start Papeleo.
#
#   bash scripts/bootstrap.sh [--no-up] [papeleo up options, e.g. --port 8080]
#
# Idempotent: a second run installs nothing and only starts `papeleo up`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

up=1
args=()
for arg in "$@"; do
  if [[ "$arg" == "--no-up" ]]; then up=0; else args+=("$arg"); fi
done

say() { printf 'bootstrap: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# --- system packages: OCR (tesseract + Spanish/English/OSD data), poppler, venv, a font
packages=(tesseract-ocr tesseract-ocr-spa tesseract-ocr-eng tesseract-ocr-osd poppler-utils
          python3-venv fonts-dejavu-core fonts-dejavu-extra)
if command -v dpkg >/dev/null 2>&1; then
  missing=()
  for package in "${packages[@]}"; do
    dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$package")
  done
  if ((${#missing[@]})); then
    sudo=()
    if ((EUID != 0)); then
      command -v sudo >/dev/null 2>&1 || die "need root or sudo to install: ${missing[*]}"
      sudo=(sudo)
    fi
    say "installing ${missing[*]}"
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
else
  for tool in tesseract pdftoppm; do
    command -v "$tool" >/dev/null 2>&1 || die "no dpkg here: install tesseract (spa, eng, osd) and poppler yourself"
  done
fi

# --- virtualenv with Python >= 3.11
python_ok() { "$1" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; }
if [[ -x .venv/bin/python ]] && ! python_ok .venv/bin/python; then
  die ".venv has Python < 3.11; remove it (rm -rf .venv) and run again"
fi
if [[ ! -x .venv/bin/python ]]; then
  python=""
  for candidate in ${PYTHON:-} python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      python=$candidate
      break
    fi
  done
  [[ -n "$python" ]] || die "Papeleo needs Python >= 3.11 (set PYTHON=/path/to/python3.11)"
  say "creating .venv with $("$python" --version)"
  rm -rf .venv
  "$python" -m venv .venv
fi

# --- the project itself, editable, with test tools: only when pyproject.toml changed
stamp=.venv/.papeleo-installed
wanted=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$wanted" || ! -x .venv/bin/papeleo ]]; then
  say "installing Papeleo into .venv"
  log=.venv/pip-install.log
  if ! .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]' >"$log" 2>&1; then
    cat "$log" >&2
    die "pip install failed (log: $log)"
  fi
  printf '%s\n' "$wanted" > "$stamp"
fi

if ((up)); then
  # One tesseract thread per process (the worker runs tesseract); parallelise with processes.
  export OMP_THREAD_LIMIT="${OMP_THREAD_LIMIT:-1}"
  exec .venv/bin/papeleo up "${args[@]}"
fi
