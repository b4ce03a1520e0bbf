#!/usr/bin/env bash
# Builds the peer tools the benchmark compares the job program with, from the Go module proxy,
# cached by version (same layout as test/cluster/scripts/build-servers.sh).
#
#   s5cmd   github.com/peak/s5cmd/v2@v2.3.0
#   rclone  github.com/rclone/rclone@v1.75.0   (Go >= 1.25; the big one: several minutes on 2 cores)
#   mc      built by test/cluster/scripts/build-servers.sh (servers.env MC=...)
#   aws     Debian `awscli` (/usr/bin/aws), not built here
#
# Cache: ${KUBE_RESTORE_CACHE:-$HOME/.cache/kube-restore}/bin/<name>-<version>, stamps/<name>-<version>
# stdout: only NAME=/abs/path lines (S5CMD=..., RCLONE=...); logs go to stderr. Also writes peers.env.
# Usage: build-peers.sh [s5cmd|rclone ...]   (default: both)
set -euo pipefail

S5CMD_VERSION=v2.3.0
RCLONE_VERSION=v1.75.0

CACHE="${KUBE_RESTORE_CACHE:-$HOME/.cache/kube-restore}"
BIN="$CACHE/bin"
STAMPS="$CACHE/stamps"
WRAPPERS="$CACHE/wrappers"
log() { printf '[build-peers] %s\n' "$*" >&2; }
die() { printf '[build-peers] ERROR: %s\n' "$*" >&2; exit 1; }
mkdir -p "$BIN" "$STAMPS" "$WRAPPERS"

exec 9>"$CACHE/.build-peers.lock"
flock 9

need_go() {
  command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH: Go >= 1.25 is required to build rclone $RCLONE_VERSION"
  local v; v=$(go env GOVERSION)
  local mm=${v#go}; local major=${mm%%.*}; local rest=${mm#*.}; local minor=${rest%%[.a-z]*}
  (( major > 1 || (major == 1 && minor >= 25) )) || die "Go $v is too old: Go >= 1.25 is required (rclone $RCLONE_VERSION)"
}

install_tool() { # install_tool <stamp> <out> <pkg@version> <binary name>
  local stamp=$1 out=$2 pkgver=$3 name=$4
  if [[ -f "$STAMPS/$stamp" && -x "$out" ]]; then log "$pkgver: cached"; return 0; fi
  need_go
  local t0; t0=$(date +%s)
  log "$pkgver: building"
  local gobin="$WRAPPERS/gobin-$stamp"
  rm -rf "$gobin"; mkdir -p "$gobin"
  # Not `go install pkg@version`: it also reads the module's version list to report deprecations,
  # which the proxy this project builds from refuses (403) for some modules. Building inside the
  # downloaded module uses the same go.mod and go.sum, so the result is the same binary.
  local json dir
  json=$(go mod download -json "$pkgver") || die "cannot download $pkgver from the module proxy ($(go env GOPROXY))"
  dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$json")
  [[ -d "$dir" ]] || die "go mod download did not report a directory for $pkgver"
  (cd "$dir" && CGO_ENABLED=0 go build -mod=mod -trimpath -ldflags "-s -w" -o "$gobin/$name" .) >&2 || die "building $pkgver failed"
  mv -f "$gobin/$name" "$out"
  rm -rf "$gobin"
  date -u +%FT%TZ >"$STAMPS/$stamp"
  log "$pkgver: built in $(( $(date +%s) - t0 ))s"
}

declare -A OUT=([S5CMD]="$BIN/s5cmd-$S5CMD_VERSION" [RCLONE]="$BIN/rclone-$RCLONE_VERSION")
components=("$@")
(( ${#components[@]} )) || components=(s5cmd rclone)
for c in "${components[@]}"; do
  case "$c" in
    s5cmd) install_tool "s5cmd-$S5CMD_VERSION" "${OUT[S5CMD]}" "github.com/peak/s5cmd/v2@$S5CMD_VERSION" s5cmd ;;
    rclone) install_tool "rclone-$RCLONE_VERSION" "${OUT[RCLONE]}" "github.com/rclone/rclone@$RCLONE_VERSION" rclone ;;
    *) die "unknown peer '$c' (s5cmd rclone)" ;;
  esac
done

env_file="$CACHE/peers.env"
: >"$env_file.tmp"
for k in S5CMD RCLONE; do [[ -x "${OUT[$k]}" ]] && echo "$k=${OUT[$k]}" >>"$env_file.tmp"; done
mv -f "$env_file.tmp" "$env_file"
cat "$env_file"
