#!/usr/bin/env bash
# Builds the pieces of a real Kubernetes control plane from the Go module proxy, once, into
#   ${XDG_CACHE_HOME:-~/.cache}/neosc/k8s/<kubernetes version>/
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok (fake nodes).
# Each binary is built only when missing (or not starting); a lock keeps two builds from racing.
# Prints the cache folder on the last line of stdout; progress goes to stderr.
#   build.sh          build what is missing
#   build.sh --check  exit 0 when everything is cached, 3 when something is missing (no build)
set -euo pipefail

K8S_VERSION=v1.34.2
STAGING_VERSION=v0.34.2
ETCD_VERSION=v3.6.16
KWOK_VERSION=v0.8.0
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/neosc/k8s/${K8S_VERSION}"
BINARIES=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl kwok)
# kwok's own "fast" stages (node ready + heartbeat, pod ready/complete/delete), from its module.
KWOK_STAGES=(node/fast/node-initialize node/heartbeat/node-heartbeat pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete)

log() { echo "[neosc k8s build] $*" >&2; }

# A binary counts as built when it answers --version (a half-written file does not).
works() { [ "$1" = kwok-stages.yaml ] && { [ -s "$CACHE/$1" ]; return; }; [ -x "$CACHE/$1" ] && "$CACHE/$1" --version >/dev/null 2>&1 || { [ "$1" = kubectl ] && [ -x "$CACHE/$1" ] && "$CACHE/$1" version --client >/dev/null 2>&1; }; }

missing=()
for b in "${BINARIES[@]}" kwok-stages.yaml; do works "$b" || missing+=("$b"); done
if [ "${1:-}" = "--check" ]; then
  [ ${#missing[@]} -eq 0 ] && { echo "$CACHE"; exit 0; }
  echo "missing: ${missing[*]}" >&2; exit 3
fi
if [ ${#missing[@]} -eq 0 ]; then echo "$CACHE"; exit 0; fi

if ! command -v go >/dev/null 2>&1; then
  echo "cannot build the Kubernetes control plane: 'go' is not on PATH (Go 1.24+ from https://go.dev/dl builds ${missing[*]})" >&2
  exit 2
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.build.lock"
if ! flock -n 9; then log "another process is building into $CACHE; waiting…"; flock 9; fi
missing=()
for b in "${BINARIES[@]}" kwok-stages.yaml; do works "$b" || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$CACHE"; exit 0; fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/neosc-k8s-build-XXXXXX")"
trap 'chmod -R u+w "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
export GOFLAGS="-buildvcs=false" CGO_ENABLED=0
TIMES="$CACHE/build-times.txt"
log "building ${missing[*]} with $(go version) into $CACHE (one time; kube binaries take many minutes on 2 cores)"

# `go build -v` prints each package as it is compiled: report a count every 30 s.
progress() {
  local name="$1" count=0 last=$SECONDS line
  while IFS= read -r line; do
    count=$((count + 1))
    if [ $((SECONDS - last)) -ge 30 ]; then log "$name: $count packages compiled ($((SECONDS - start))s)"; last=$SECONDS; fi
    case "$line" in *error*|*cannot*|*undefined*) echo "$line" >&2 ;; esac
  done
}

need() { printf '%s\n' "${missing[@]}" | grep -qx "$1"; }

if need etcd; then
  start=$SECONDS
  mkdir -p "$WORK/etcd" && cd "$WORK/etcd"
  go mod init neosc.local/etcd >/dev/null 2>&1
  cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  log "etcd ${ETCD_VERSION}: resolving modules…"
  go get "go.etcd.io/etcd/server/v3@${ETCD_VERSION}" >&2
  go mod tidy >&2
  go build -v -trimpath -ldflags "-s -w" -o "$WORK/etcd.bin" . 2>&1 | progress etcd
  mv "$WORK/etcd.bin" "$CACHE/etcd"
  echo "etcd ${ETCD_VERSION}: $((SECONDS - start)) s ($(date -u +%FT%TZ))" >> "$TIMES"
  log "etcd built in $((SECONDS - start)) s"
fi

if need kwok; then
  start=$SECONDS
  log "kwok ${KWOK_VERSION}: downloading sources…"
  dir="$(cd "$WORK" && go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  cp -r "$dir" "$WORK/kwok" && chmod -R u+w "$WORK/kwok" && cd "$WORK/kwok"
  go build -v -mod=mod -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION}" \
    -o "$WORK/kwok.bin" ./cmd/kwok 2>&1 | progress kwok
  mv "$WORK/kwok.bin" "$CACHE/kwok"
  echo "kwok ${KWOK_VERSION}: $((SECONDS - start)) s ($(date -u +%FT%TZ))" >> "$TIMES"
  log "kwok built in $((SECONDS - start)) s"
fi

if need kwok-stages.yaml; then
  dir="$(cd "$WORK" && go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  for stage in "${KWOK_STAGES[@]}"; do cat "$dir/kustomize/stage/$stage.yaml"; echo "---"; done > "$WORK/stages.yaml"
  mv "$WORK/stages.yaml" "$CACHE/kwok-stages.yaml"
fi

kube=()
for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do need "$b" && kube+=("./cmd/$b"); done
if [ ${#kube[@]} -gt 0 ]; then
  start=$SECONDS
  log "kubernetes ${K8S_VERSION}: downloading sources…"
  dir="$(cd "$WORK" && go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  cp -r "$dir" "$WORK/kubernetes" && chmod -R u+w "$WORK/kubernetes" && cd "$WORK/kubernetes"
  # The module is written for its own repository: staging modules come from ./staging through
  # replace lines and a go.work. Outside it, take the published staging modules instead.
  rm -rf vendor go.work go.work.sum
  sed -i -E '/^\s*k8s\.io\/[A-Za-z0-9._-]+ => \.\/staging\//d; s#^(\s*k8s\.io/[A-Za-z0-9._-]+) v0\.0\.0$#\1 '"${STAGING_VERSION}"'#' go.mod
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=34 -X k8s.io/component-base/version.gitTreeState=clean"
  log "kubernetes: building ${kube[*]} (progress: packages compiled)…"
  mkdir -p "$WORK/out"
  go build -v -mod=mod -trimpath -ldflags "$ldflags" -o "$WORK/out/" "${kube[@]}" 2>&1 | progress kubernetes
  for b in "${kube[@]}"; do mv "$WORK/out/${b#./cmd/}" "$CACHE/"; done
  echo "kubernetes ${K8S_VERSION} (${kube[*]}): $((SECONDS - start)) s ($(date -u +%FT%TZ))" >> "$TIMES"
  log "kubernetes binaries built in $((SECONDS - start)) s"
fi

for b in "${BINARIES[@]}" kwok-stages.yaml; do works "$b" || { echo "build finished but $b does not start" >&2; exit 1; }; done
echo "$CACHE"
