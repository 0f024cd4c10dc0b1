#!/usr/bin/env bash
# A fresh, single-commit Hugging Face Space repository of this project, ready for its first push:
#
#   bash scripts/make_space.sh ../mbti-ko-space              # the files of HEAD (git archive)
#   bash scripts/make_space.sh ../mbti-ko-space --worktree   # the working tree as it is (tracked + new, unignored)
#
# The Hub refuses plain-git files over 10 MB, and the shipped model.safetensors files are 10.2-10.8 MB. This
# project's own history holds them as plain blobs, so pushing it would be refused, and rewriting it is not
# needed: this script copies the files into a NEW repository whose .gitattributes puts *.safetensors and *.onnx
# in Git LFS *before* the first commit, commits once, and checks that no blob over 10 MB is left outside LFS.
# Then (README, "Hugging Face Spaces, step by step"): create a Docker Space on the Hub and
#   cd ../mbti-ko-space && git remote add space https://huggingface.co/spaces/USER/SPACE && git push --force space main
# (--force: a new Space starts with its own initial commit, which this one replaces). git asks for your user
# name and an access token with write permission; nothing is stored in the repository.
#
# Needs git and git-lfs (Debian/Ubuntu: apt-get install git-lfs; macOS: brew install git-lfs; Windows: part of
# Git for Windows, run this in Git Bash). scripts/check_space.sh (CI) builds the Space with this script and
# serves exactly what its Docker image would hold.
set -euo pipefail

usage() { echo "usage: bash scripts/make_space.sh OUT_DIR [--worktree]" >&2; exit 2; }
die() { echo "make_space: error: $*" >&2; exit 2; }

[ $# -ge 1 ] || usage
out=$1
mode=archive
if [ $# -ge 2 ]; then
  [ "$2" = "--worktree" ] && [ $# -eq 2 ] || usage
  mode=worktree
fi

root=$(cd "$(dirname "$0")/.." && pwd)
git -C "$root" rev-parse --git-dir >/dev/null 2>&1 || die "$root is not a git checkout"
git lfs version >/dev/null 2>&1 || die "git-lfs is not installed (Debian/Ubuntu: apt-get install git-lfs; macOS: brew install git-lfs; Windows: Git for Windows includes it)"

mkdir -p "$out"
out=$(cd "$out" && pwd)
case "$out/" in "$root"/*) die "OUT_DIR must be outside the project ($out is inside $root)";; esac
[ -z "$(ls -A "$out")" ] || die "$out is not empty: give a new or empty folder"

source_commit=$(git -C "$root" rev-parse --short HEAD)
if [ "$mode" = archive ]; then
  git -C "$root" archive --format=tar HEAD | tar -x -C "$out"
  described="$source_commit"
else
  # Tracked and untracked files that git does not ignore, as they are on disk now (deleted ones skipped).
  (cd "$root" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' path; do [ -f "$path" ] && printf '%s\0' "$path"; done \
    | tar --null -T - -cf -) | tar -x -C "$out"
  described="$source_commit + working tree"
fi

# LFS rules first: the one commit below already stores the weights and graphs as LFS objects.
cat >>"$out/.gitattributes" <<'EOF'
# Hugging Face Hub: files over 10 MB must be in Git LFS; model weights and ONNX graphs always are
# (written by scripts/make_space.sh before the first commit).
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
EOF

cd "$out"
git init -q -b main
git lfs install --local >/dev/null
git add -A
GIT_AUTHOR_NAME=${GIT_AUTHOR_NAME:-mbti-ko} GIT_AUTHOR_EMAIL=${GIT_AUTHOR_EMAIL:-mbti-ko@users.noreply.huggingface.co} \
GIT_COMMITTER_NAME=${GIT_COMMITTER_NAME:-mbti-ko} GIT_COMMITTER_EMAIL=${GIT_COMMITTER_EMAIL:-mbti-ko@users.noreply.huggingface.co} \
  git -c commit.gpgsign=false commit -q -m "MBTI-ko Space from ${described}"

# What the Hub checks on push: every blob over 10 MB (10,000,000 bytes) must be an LFS pointer instead.
too_big=$(git ls-tree -r -l HEAD | awk '$4 > 10000000 {print $5 " (" $4 " bytes)"}')
[ -z "$too_big" ] || die "blobs over 10 MB outside LFS (add a rule to .gitattributes): $too_big"
files=$(git ls-files | wc -l)
lfs=$(git lfs ls-files -n | wc -l)
echo "Space repository ready: $out (1 commit from $described: $files files, $lfs in Git LFS)"
echo "Push it to a new Docker Space (https://huggingface.co/new-space, SDK: Docker):"
echo "  cd $out && git remote add space https://huggingface.co/spaces/USER/SPACE && git push --force space main"
