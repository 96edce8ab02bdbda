#!/usr/bin/env bash
# Builds the Go vulnerability database from the golang.org/x/vulndb module
# pinned in tools/govulncheck/go.mod, with no network but the Go module proxy, into
# .cache/vulndb/<version> (gitignored), and prints that folder.
# gendb reads reports from a git repository, so the module's data/osv is
# committed into a throwaway one first.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOTOOLCHAIN=go1.27.3
modfile=tools/govulncheck/go.mod
version=$(go list -modfile=$modfile -m -f '{{.Version}}' golang.org/x/vulndb)
out=.cache/vulndb/$version
if [ -f "$out/index/db.json" ]; then
	echo "$PWD/$out"
	exit 0
fi
src=$(go mod download -modfile=$modfile -json golang.org/x/vulndb | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$src/data/osv" ] || { echo "vulndb.sh: no data/osv in $src" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The database's "modified" date is the pinned commit's, from its pseudo-version.
stamp=$(echo "$version" | sed -n 's/.*-\([0-9]\{14\}\)-.*/\1/p')
[ -n "$stamp" ] || { echo "vulndb.sh: $version is not a pseudo-version" >&2; exit 1; }
date="${stamp:0:4}-${stamp:4:2}-${stamp:6:2}T${stamp:8:2}:${stamp:10:2}:${stamp:12:2}Z"
mkdir -p "$work/repo/data"
cp -r "$src/data/osv" "$work/repo/data/osv"
chmod -R u+w "$work/repo"
(
	cd "$work/repo"
	git init -q
	git add data
	GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" \
		git -c user.name=vulndb -c user.email=vulndb@localhost commit -q -m "golang.org/x/vulndb $version"
) >&2
echo "vulndb: building the vulnerability database $version (once; a minute or two)" >&2
go tool -modfile=$modfile gendb -repo "$work/repo" -out "$work/db" >&2
mkdir -p "$(dirname "$out")"
rm -rf "$out"
mv "$work/db" "$out"
echo "$PWD/$out"
