#!/usr/bin/env bash
# Installs, from Debian's own packages, everything the tests and the end-to-end lane need.
# Idempotent: a package already present is left alone.
set -euo pipefail

packages=(
  # the real node
  etcd-server containerd runc containernetworking-plugins iptables conntrack iproute2
  # setup's mirror test packs these into release-shaped tarballs (etcdctl sits beside etcd upstream)
  etcd-client
  # images built without a registry
  busybox-static
  # building Kubernetes v1.20.2 from Debian's source package
  golang-go rsync dpkg-dev
  # probes, PKI checks, the terminal UI and its tmux tests
  curl openssl libncurses-dev tmux procps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-host-packages: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-host-packages: all present"
fi

# Debian's containerd package starts the system containerd; kubescratch runs its own on its
# own socket and never touches the system one, so leave the service as the machine had it.
