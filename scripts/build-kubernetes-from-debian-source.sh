#!/usr/bin/env bash
# Builds the real Kubernetes v1.20.2 server binaries and kubectl from Debian 12's
# `kubernetes` source package (the full upstream tree with vendor/), for the
# end-to-end lane on machines that cannot reach dl.k8s.io.
# Recipe: shared/reference/e2e-kubernetes-from-debian-source.md.
#
# Prints the folder that holds the binaries on its last line. The result is cached
# under $KUBESCRATCH_E2E_CACHE (default /var/cache/kubescratch-e2e), keyed by the
# source package's version; a fresh machine builds it from nothing (~7 min, 2 cores).
set -euo pipefail

cache_root=${KUBESCRATCH_E2E_CACHE:-/var/cache/kubescratch-e2e}
source_version="1.20.5+really1.20.2"
bin_dir="$cache_root/kubernetes-$source_version/bin"
binaries=(kube-apiserver kubelet kube-scheduler kube-controller-manager kube-proxy kubectl)

have_all() {
  for b in "${binaries[@]}"; do [ -x "$bin_dir/$b" ] || return 1; done
  "$bin_dir/kubelet" --version 2>/dev/null | grep -q 'Kubernetes v1.20.2'
}

if have_all; then
  echo "build-kubernetes: cached binaries in $bin_dir" >&2
  echo "$bin_dir"
  exit 0
fi

# A deb-src entry for bookworm, in apt's own format, beside the machine's Debian entry.
src_list=/etc/apt/sources.list.d/kubescratch-debian-src.sources
if ! grep -rqs '^Types:.*deb-src' /etc/apt/sources.list.d/ && ! grep -qs '^deb-src' /etc/apt/sources.list; then
  cat >"$src_list" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  apt-get update -qq
fi

work="$cache_root/work"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
echo "build-kubernetes: fetching Debian's kubernetes source package" >&2
apt-get source --download-only -qq kubernetes >&2
orig="kubernetes_${source_version}.orig.tar.gz"
[ -f "$orig" ] || { echo "build-kubernetes: expected $orig from Debian, got: $(ls)" >&2; exit 1; }
tar xzf "$orig"
cd kubernetes-1.20.2

# The 1.20 build scripts expect a GOPATH layout.
mkdir -p .go/src/k8s.io
ln -sfn ../../.. .go/src/k8s.io/kubernetes
mkdir -p "$work/home"

echo "build-kubernetes: building ${binaries[*]} (about 7 minutes on 2 cores)" >&2
start=$(date +%s)
GOPATH=$PWD/.go CGO_ENABLED=0 HOME="$work/home" \
  make WHAT="cmd/kube-apiserver cmd/kubelet cmd/kube-scheduler cmd/kube-controller-manager cmd/kube-proxy cmd/kubectl" >&2
echo "build-kubernetes: built in $(( $(date +%s) - start )) s" >&2

mkdir -p "$bin_dir.tmp"
for b in "${binaries[@]}"; do cp "_output/bin/$b" "$bin_dir.tmp/$b"; done
rm -rf "$bin_dir"
mv "$bin_dir.tmp" "$bin_dir"
cd /
rm -rf "$work"
have_all
echo "$bin_dir"
