#!/usr/bin/env bash
# The Hugging Face Space / Docker image, checked without Docker (CI runs it after the tests):
#
#   bash scripts/check_space.sh              # the files of HEAD, as scripts/make_space.sh puts them in the Space
#   bash scripts/check_space.sh --worktree   # the working tree instead (before committing)
#
# Builds the Space repository (scripts/make_space.sh) and fails on a file over 10 MB outside its LFS rules; takes
# the files the image would get (the Space minus .dockerignore) as a read-only folder; installs the Dockerfile's
# requirements file into a fresh venv; serves the Dockerfile's CMD with its ENV and a HOME like the image's as a
# non-root user; waits for /_stcore/health; then drives Debian's chromium: one prediction, one Batch upload, every
# page. Details: scripts/check_space.py. Needs git-lfs (installed here when missing and run as root), chromium and
# the project's .venv (playwright drives the browser; the app itself runs from the fresh venv).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! git lfs version >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get install -y -qq --no-install-recommends git-lfs >/dev/null 2>&1 \
      || { apt-get update -qq && apt-get install -y -qq --no-install-recommends git-lfs >/dev/null; }
  else
    echo "check_space: git-lfs is missing (apt-get install git-lfs)" >&2
    exit 2
  fi
fi
exec "${PYTHON:-.venv/bin/python}" scripts/check_space.py "$@"
