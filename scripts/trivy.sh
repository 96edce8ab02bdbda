#!/usr/bin/env bash
# Builds the pinned Trivy once into .cache/trivy/<version> (gitignored) and
# prints the binary's path. Trivy v0.74.0 needs go1.26.3 with
# GOEXPERIMENT=jsonv2 and does not compile with Go 1.27; the first build
# takes many minutes, later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v0.74.0
out=$PWD/.cache/trivy/$version
if [ -x "$out/trivy" ]; then
	echo "$out/trivy"
	exit 0
fi
mkdir -p "$out"
echo "secscan: building Trivy $version with go1.26.3 (once; takes minutes)" >&2
GOTOOLCHAIN=go1.26.3 GOEXPERIMENT=jsonv2 GOFLAGS=-mod=mod GOBIN="$out.tmp" \
	go install -trimpath "github.com/aquasecurity/trivy/cmd/trivy@$version" >&2
mv "$out.tmp/trivy" "$out/trivy"
rmdir "$out.tmp"
echo "$out/trivy"
