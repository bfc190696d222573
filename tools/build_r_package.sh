#!/usr/bin/env bash
# Build the R package's source tarball into OUTDIR (default: the repository).
# R CMD build copies the whole directory (.venv included) before it applies
# .Rbuildignore, so it builds a copy of the package files, into which the
# Python core is staged as inst/python (tools/stage_python.py): the tarball
# carries it, and git keeps only python/.
# Usage: tools/build_r_package.sh [OUTDIR]    (PYTHON: a Python >= 3.11, default python3)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "${1:-$repo}"
out=$(cd "${1:-$repo}" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pkg=$tmp/torchlinreg
mkdir -p "$pkg/tests"
cd "$repo"
cp -R DESCRIPTION NAMESPACE LICENSE .Rbuildignore R man data "$pkg/"
cp -R tests/testthat.R tests/testthat "$pkg/tests/"
"${PYTHON:-python3}" tools/stage_python.py "$repo" "$pkg/inst/python"
(cd "$tmp" && R CMD build --no-build-vignettes torchlinreg >/dev/null)
mv "$tmp"/torchlinreg_*.tar.gz "$out/"
ls "$out"/torchlinreg_*.tar.gz
