#!/usr/bin/env bash
# Installs, from Debian's packages, what the TESTS need beyond what a user's install brings (scripts/install.sh
# installs the program's own host packages; `kubescratch setup --source debian` brings etcd, containerd, runc,
# the CNI plugins and the Go toolchain when it builds). Idempotent: a package already present is left alone.
set -euo pipefail

packages=(
  # building the package and its unit tests (the terminal UI's C shim), PKI checks, the local release server
  libncurses-dev openssl python3 curl
  # setup's mirror test packs Debian's etcdctl beside etcd into a release-shaped tarball
  etcd-client
  # the end-to-end lane: images without a registry, the node's tools, the egress audit, the terminal UI in tmux
  busybox-static iptables conntrack iproute2 procps util-linux kmod tmux sudo
  # `kubescratch trace --method nftrace`: nft monitor trace, the way kube-proxy's nftables mode is traced
  nftables
)

bash "$(dirname "$0")/apt-install-missing.sh" "${packages[@]}"
