#!/usr/bin/env bash
# Builds the real servers the test harness runs, from the Go module proxy, cached by version.
#
#   kube-apiserver, kube-controller-manager, kubectl  (k8s.io/kubernetes, through a wrapper module)
#   etcd                                              (go.etcd.io/etcd/server/v3, through a wrapper module)
#   kubelet, kube-scheduler                           (the same wrapper module)
#   minio, mc, versitygw                              (go install at pinned versions)
#   cni: bridge, host-local, loopback                 (github.com/containernetworking/plugins)
#   pause                                             (gcc -static of k8s.io/kubernetes' build/pause/linux/pause.c)
#
# Cache: ${KUBE_RESTORE_CACHE:-$HOME/.cache/kube-restore}
#   bin/<name>-<version>       the binaries
#   stamps/<component>-<ver>   written after a component built completely
#   wrappers/<component>-<ver> generated wrapper modules (go.mod, go.sum); never committed
#   servers.env                NAME=path lines for the binaries of this script's versions
#
# stdout: only NAME=/abs/path lines (KUBE_APISERVER=..., ETCD=..., ...); all logs go to stderr.
# A second run builds nothing. A missing Go toolchain or an unreachable module proxy is an error (exit 1).
# Usage: build-servers.sh [component...]   components: k8s etcd minio mc versitygw cni pause (default: all)
set -euo pipefail

# ---- pinned versions (a bump is one line) -----------------------------------------------------
K8S_VERSION=v1.36.3            # newest v1.36 patch: go list -m -versions k8s.io/kubernetes
ETCD_VERSION=v3.6.16           # newest v3.6 patch:  go list -m -versions go.etcd.io/etcd/server/v3
# MinIO's last release tag RELEASE.2025-10-15T17-29-55Z is not served by the module proxy this
# project builds from (403 "This module version is not available"); the archived repository's final
# commit is. It is a pinned test server, nothing more.
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
MC_VERSION=v0.0.0-20250313080218-cf909e1063a9
VERSITYGW_VERSION=v1.7.0
CNI_PLUGINS_VERSION=v1.10.0    # bridge, host-local, loopback for the real nodes' pod network
PAUSE_VERSION=3.10             # the sandbox image, compiled from k8s.io/kubernetes' build/pause

CACHE="${KUBE_RESTORE_CACHE:-$HOME/.cache/kube-restore}"
BIN="$CACHE/bin"
STAMPS="$CACHE/stamps"
WRAPPERS="$CACHE/wrappers"

log() { printf '[build-servers] %s\n' "$*" >&2; }
die() { printf '[build-servers] ERROR: %s\n' "$*" >&2; exit 1; }

mkdir -p "$BIN" "$STAMPS" "$WRAPPERS"

# Several test processes may call this at once: one builder at a time.
exec 9>"$CACHE/.build.lock"
flock 9

k8s_minor=${K8S_VERSION#v1.}; k8s_minor=${k8s_minor%%.*}
k8s_staging_version="v0.${K8S_VERSION#v1.}"

declare -A OUT=(
  [KUBE_APISERVER]="$BIN/kube-apiserver-$K8S_VERSION"
  [KUBE_CONTROLLER_MANAGER]="$BIN/kube-controller-manager-$K8S_VERSION"
  [KUBECTL]="$BIN/kubectl-$K8S_VERSION"
  [KUBELET]="$BIN/kubelet-$K8S_VERSION"
  [KUBE_SCHEDULER]="$BIN/kube-scheduler-$K8S_VERSION"
  [ETCD]="$BIN/etcd-$ETCD_VERSION"
  [MINIO]="$BIN/minio-$MINIO_VERSION"
  [MC]="$BIN/mc-$MC_VERSION"
  [VERSITYGW]="$BIN/versitygw-$VERSITYGW_VERSION"
  [CNI_BIN_DIR]="$BIN/cni-$CNI_PLUGINS_VERSION"
  [PAUSE]="$BIN/pause-$PAUSE_VERSION"
)

built() { # built <stamp> <binary...>
  local stamp=$1; shift
  [[ -f "$STAMPS/$stamp" ]] || return 1
  local b; for b in "$@"; do [[ -x "$b" ]] || return 1; done
}

go_checked=
need_go() {
  [[ -n "$go_checked" ]] && return 0
  command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH: Go >= 1.26 is required to build the test servers (k8s.io/kubernetes $K8S_VERSION needs go 1.26). Install Go, or put it on PATH."
  local v; v=$(go env GOVERSION) || die "'go env GOVERSION' failed"
  local mm=${v#go}; local major=${mm%%.*}; local rest=${mm#*.}; local minor=${rest%%[.a-z]*}
  if (( major < 1 || (major == 1 && minor < 26) )); then
    die "Go $v is too old: Go >= 1.26 is required (k8s.io/kubernetes $K8S_VERSION declares go 1.26.0)"
  fi
  log "using $v ($(command -v go)); GOPROXY=$(go env GOPROXY)"
  # Reachability of the module proxy, with a bounded wait.
  if ! timeout 120 env GOFLAGS=-mod=mod go list -m "k8s.io/kubernetes@$K8S_VERSION" >/dev/null 2>"$CACHE/.proxy-check.err"; then
    cat "$CACHE/.proxy-check.err" >&2 || true
    die "the Go module proxy ($(go env GOPROXY)) is unreachable or does not serve k8s.io/kubernetes@$K8S_VERSION"
  fi
  go_checked=1
}

elapsed() { echo $(( $(date +%s) - $1 ))s; }

# ---- k8s.io/kubernetes: kube-apiserver, kube-controller-manager, kubectl ----------------------
build_k8s() {
  local stamp="k8s-$K8S_VERSION"
  if built "$stamp" "${OUT[KUBE_APISERVER]}" "${OUT[KUBE_CONTROLLER_MANAGER]}" "${OUT[KUBECTL]}" \
    "${OUT[KUBELET]}" "${OUT[KUBE_SCHEDULER]}"; then
    log "k8s $K8S_VERSION: cached"; return 0
  fi
  need_go
  local t0; t0=$(date +%s)
  log "k8s $K8S_VERSION: building kube-apiserver, kube-controller-manager, kubectl (cold: tens of minutes on 2 cores)"
  local gomod_json gomod
  gomod_json=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION") || die "cannot download k8s.io/kubernetes@$K8S_VERSION from the module proxy"
  gomod=$(sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p' <<<"$gomod_json")
  [[ -f "$gomod" ]] || die "go mod download did not report k8s.io/kubernetes' go.mod"
  local staging; staging=$(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\)[[:space:]]*=>[[:space:]]*\./staging/src/.*#\1#p' "$gomod")
  local n; n=$(wc -w <<<"$staging")
  (( n > 0 )) || die "no '=> ./staging/src/' replace lines found in $gomod"
  log "k8s $K8S_VERSION: $n staging modules replaced with $k8s_staging_version"
  local goline; goline=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$gomod" | head -1)

  local w="$WRAPPERS/k8s-$K8S_VERSION"
  rm -rf "$w"; mkdir -p "$w"
  {
    echo "// Generated by test/cluster/scripts/build-servers.sh: builds k8s.io/kubernetes $K8S_VERSION commands."
    echo "module kube-restore.local/k8s-servers"
    echo
    echo "go ${goline:-1.26.0}"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    local m; for m in $staging; do echo "	$m => $m $k8s_staging_version"; done
    echo ")"
  } >"$w/go.mod"
  (
    cd "$w"
    go get -tool \
      "k8s.io/kubernetes/cmd/kube-apiserver@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-controller-manager@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kubectl@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kubelet@$K8S_VERSION" \
      "k8s.io/kubernetes/cmd/kube-scheduler@$K8S_VERSION" >&2
    mkdir -p out
    local ld="-s -w"
    ld+=" -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
    ld+=" -X k8s.io/component-base/version.gitMajor=1"
    ld+=" -X k8s.io/component-base/version.gitMinor=$k8s_minor"
    ld+=" -X k8s.io/component-base/version.gitTreeState=clean"
    ld+=" -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
    ld+=" -X k8s.io/client-go/pkg/version.gitMajor=1"
    ld+=" -X k8s.io/client-go/pkg/version.gitMinor=$k8s_minor"
    CGO_ENABLED=0 go build -trimpath -ldflags "$ld" -o out/ \
      k8s.io/kubernetes/cmd/kube-apiserver \
      k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kubectl \
      k8s.io/kubernetes/cmd/kubelet \
      k8s.io/kubernetes/cmd/kube-scheduler >&2
  ) || die "building k8s.io/kubernetes $K8S_VERSION failed (wrapper module: $w)"
  mv -f "$w/out/kube-apiserver" "${OUT[KUBE_APISERVER]}"
  mv -f "$w/out/kube-controller-manager" "${OUT[KUBE_CONTROLLER_MANAGER]}"
  mv -f "$w/out/kubectl" "${OUT[KUBECTL]}"
  mv -f "$w/out/kubelet" "${OUT[KUBELET]}"
  mv -f "$w/out/kube-scheduler" "${OUT[KUBE_SCHEDULER]}"
  rmdir "$w/out" 2>/dev/null || true
  date -u +%FT%TZ >"$STAMPS/$stamp"
  log "k8s $K8S_VERSION: built in $(elapsed "$t0")"
}

# ---- etcd ---------------------------------------------------------------------------------------
build_etcd() {
  local stamp="etcd-$ETCD_VERSION"
  if built "$stamp" "${OUT[ETCD]}"; then log "etcd $ETCD_VERSION: cached"; return 0; fi
  need_go
  local t0; t0=$(date +%s)
  log "etcd $ETCD_VERSION: building"
  local w="$WRAPPERS/etcd-$ETCD_VERSION"
  rm -rf "$w"; mkdir -p "$w"
  (
    cd "$w"
    printf '// Generated by test/cluster/scripts/build-servers.sh\nmodule kube-restore.local/etcd-server\n\ngo 1.26.0\n' >go.mod
    go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION" >&2
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "${OUT[ETCD]}.tmp" go.etcd.io/etcd/server/v3 >&2
  ) || die "building etcd $ETCD_VERSION failed (wrapper module: $w)"
  mv -f "${OUT[ETCD]}.tmp" "${OUT[ETCD]}"
  date -u +%FT%TZ >"$STAMPS/$stamp"
  log "etcd $ETCD_VERSION: built in $(elapsed "$t0")"
}

# ---- go install-able tools ----------------------------------------------------------------------
install_tool() { # install_tool <stamp> <out> <pkg@version> <binary name> [ldflags]
  local stamp=$1 out=$2 pkgver=$3 name=$4 ld=${5:-}
  if built "$stamp" "$out"; then log "$pkgver: cached"; return 0; fi
  need_go
  local t0; t0=$(date +%s)
  log "$pkgver: building"
  local gobin="$WRAPPERS/gobin-$stamp"
  rm -rf "$gobin"; mkdir -p "$gobin"
  GOBIN="$gobin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w $ld" "$pkgver" >&2 ||
    die "go install $pkgver failed"
  mv -f "$gobin/$name" "$out"
  rm -rf "$gobin"
  date -u +%FT%TZ >"$STAMPS/$stamp"
  log "$pkgver: built in $(elapsed "$t0")"
}

build_minio() {
  install_tool "minio-$MINIO_VERSION" "${OUT[MINIO]}" "github.com/minio/minio@$MINIO_VERSION" minio
}
build_mc() {
  install_tool "mc-$MC_VERSION" "${OUT[MC]}" "github.com/minio/mc@$MC_VERSION" mc
}
build_versitygw() {
  install_tool "versitygw-$VERSITYGW_VERSION" "${OUT[VERSITYGW]}" \
    "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" versitygw
}

# ---- CNI plugins: one directory, as containerd's bin_dir wants them -------------------------------
build_cni() {
  local stamp="cni-$CNI_PLUGINS_VERSION" d="${OUT[CNI_BIN_DIR]}"
  if built "$stamp" "$d/bridge" "$d/host-local" "$d/loopback"; then log "cni $CNI_PLUGINS_VERSION: cached"; return 0; fi
  need_go
  local t0; t0=$(date +%s)
  log "cni plugins $CNI_PLUGINS_VERSION: building"
  local m=github.com/containernetworking/plugins/plugins
  rm -rf "$d.tmp"; mkdir -p "$d.tmp"
  GOBIN="$d.tmp" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
    "$m/main/bridge@$CNI_PLUGINS_VERSION" "$m/ipam/host-local@$CNI_PLUGINS_VERSION" \
    "$m/main/loopback@$CNI_PLUGINS_VERSION" >&2 || die "go install of the CNI plugins $CNI_PLUGINS_VERSION failed"
  rm -rf "$d"; mv "$d.tmp" "$d"
  date -u +%FT%TZ >"$STAMPS/$stamp"
  log "cni plugins: built in $(elapsed "$t0")"
}

# ---- pause: the pod sandbox's process (nothing can be pulled, so it is compiled here) --------------
build_pause() {
  local stamp="pause-$PAUSE_VERSION-$K8S_VERSION"
  if built "$stamp" "${OUT[PAUSE]}"; then log "pause $PAUSE_VERSION: cached"; return 0; fi
  need_go
  command -v gcc >/dev/null 2>&1 || die "gcc is needed to compile the pause program (scripts/setup.sh installs it)"
  local dir; dir=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  local src="$dir/build/pause/linux/pause.c"
  [[ -f "$src" ]] || die "no build/pause/linux/pause.c in k8s.io/kubernetes@$K8S_VERSION ($dir)"
  gcc -Os -Wall -Werror -static -DVERSION="v$PAUSE_VERSION-kube-restore" -o "${OUT[PAUSE]}.tmp" "$src" >&2 ||
    die "gcc -static of $src failed (is libc6-dev installed? scripts/setup.sh installs it)"
  strip "${OUT[PAUSE]}.tmp" 2>/dev/null || true
  mv -f "${OUT[PAUSE]}.tmp" "${OUT[PAUSE]}"
  date -u +%FT%TZ >"$STAMPS/$stamp"
  log "pause $PAUSE_VERSION: compiled"
}

components=("$@")
(( ${#components[@]} )) || components=(etcd minio mc versitygw cni k8s pause)
t_all=$(date +%s)
for c in "${components[@]}"; do
  case "$c" in
    k8s) build_k8s ;;
    etcd) build_etcd ;;
    minio) build_minio ;;
    mc) build_mc ;;
    versitygw) build_versitygw ;;
    cni) build_cni ;;
    pause) build_pause ;;
    *) die "unknown component '$c' (k8s etcd minio mc versitygw cni pause)" ;;
  esac
done
log "done in $(elapsed "$t_all"); binaries in $BIN"

env_file="$CACHE/servers.env"
: >"$env_file.tmp"
for k in KUBE_APISERVER KUBE_CONTROLLER_MANAGER KUBECTL KUBELET KUBE_SCHEDULER ETCD MINIO MC VERSITYGW CNI_BIN_DIR PAUSE; do
  [[ -e "${OUT[$k]}" ]] && echo "$k=${OUT[$k]}" >>"$env_file.tmp"
done
mv -f "$env_file.tmp" "$env_file"
cat "$env_file"
