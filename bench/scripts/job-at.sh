#!/usr/bin/env bash
# Builds the job bundle of a commit (default HEAD) from a snapshot of that commit, so a benchmark
# can run a committed job while the working tree has other people's half-done changes:
#   bench/scripts/job-at.sh [COMMIT]   ->   prints the bundle's path (/tmp/kube-restore-job-<sha>/...)
# then: npm run bench -- --job-bundle <that path> ...
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
commit=$(git -C "$repo" rev-parse --short "${1:-HEAD}")
# -w: built with the workspaces' own node_modules (before, restore-common took the root's zod 4
# and the job the root's tar-stream: a bundle 0.7 MB larger than the image's)
dir=/tmp/kube-restore-job-$commit-w
out=$dir/restore-job.cjs
if [[ ! -f $out ]]; then
  rm -rf "$dir/src"
  mkdir -p "$dir/src"
  git -C "$repo" archive "$commit" job-image packages | tar -x -C "$dir/src"
  # the workspace's dependencies, but @kube-restore/* from the snapshot
  mkdir -p "$dir/src/node_modules/@kube-restore"
  for e in "$repo"/node_modules/* "$repo"/node_modules/.bin; do
    name=$(basename "$e")
    [[ $name == @kube-restore ]] || ln -s "$e" "$dir/src/node_modules/$name"
  done
  for p in "$dir"/src/packages/*/; do
    name=$(node -p "require('$p/package.json').name")
    [[ $name == @kube-restore/* ]] && ln -s "$p" "$dir/src/node_modules/$name"
  done
  # each workspace's own dependencies (versions that differ from the root's), as npm installed them
  for p in "$dir"/src/packages/*/ "$dir"/src/job-image/; do
    own=$repo/${p#"$dir"/src/}node_modules
    if [[ -d $own ]]; then ln -s "$own" "${p}node_modules"; fi
  done
  ln -s "$dir/src/job-image" "$dir/src/node_modules/@kube-restore/job"
  node "$dir/src/job-image/build.mjs" --outfile "$out" >&2
fi
echo "$out"
