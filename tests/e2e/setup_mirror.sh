#!/usr/bin/env bash
# `kubescratch setup` against a mirror on 127.0.0.1 with the official layout, built from the real binaries
# on this machine: the v1.20.2 build in $BIN and Debian's etcd, containerd, runc and CNI plugins, packed the
# way their projects publish them (bare binaries with .sha256, tarballs with SHA256SUMS / .sha256sum / .sha256).
# Then: every installed file equals its source, doctor passes on the installed folder, and a second run
# takes everything from the cache without downloading.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ks="$PWD/.build/debug/kubescratch"
: "${BIN:?BIN must name the Kubernetes binaries folder}"
work=$(mktemp -d /tmp/kubescratch-mirror.XXXXXX)
server_pid=
trap '[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"' EXIT
m="$work/mirror"
k8s=v1.20.2 etcd=v3.4.23 containerd=1.6.20 runc=v1.1.5 cni=v1.1.1

dl="$m/dl.k8s.io/release/$k8s/bin/linux/amd64"
mkdir -p "$dl"
for b in kube-apiserver kube-controller-manager kube-scheduler kube-proxy kubelet kubectl; do
  cp "$BIN/$b" "$dl/$b"
  sha256sum "$dl/$b" | cut -d' ' -f1 > "$dl/$b.sha256"
done
gh="$m/github.com"
d="$gh/etcd-io/etcd/releases/download/$etcd"; mkdir -p "$d" "$work/etcd-$etcd-linux-amd64"
cp /usr/bin/etcd /usr/bin/etcdctl "$work/etcd-$etcd-linux-amd64/"
tar -czf "$d/etcd-$etcd-linux-amd64.tar.gz" -C "$work" "etcd-$etcd-linux-amd64"
(cd "$d" && sha256sum "etcd-$etcd-linux-amd64.tar.gz" > SHA256SUMS)
d="$gh/containerd/containerd/releases/download/v$containerd"; mkdir -p "$d" "$work/containerd/bin"
cp /usr/bin/containerd /usr/bin/containerd-shim-runc-v2 /usr/bin/ctr "$work/containerd/bin/"
tar -czf "$d/containerd-$containerd-linux-amd64.tar.gz" -C "$work/containerd" bin
(cd "$d" && sha256sum "containerd-$containerd-linux-amd64.tar.gz" > "containerd-$containerd-linux-amd64.tar.gz.sha256sum")
d="$gh/opencontainers/runc/releases/download/$runc"; mkdir -p "$d"
cp "$(command -v runc)" "$d/runc.amd64"
(cd "$d" && sha256sum runc.amd64 > runc.sha256sum)
d="$gh/containernetworking/plugins/releases/download/$cni"; mkdir -p "$d"
tar -czf "$d/cni-plugins-linux-amd64-$cni.tgz" -C /usr/lib/cni ./bridge ./host-local ./loopback ./portmap
(cd "$d" && sha256sum "cni-plugins-linux-amd64-$cni.tgz" > "cni-plugins-linux-amd64-$cni.tgz.sha256")

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m http.server --bind 127.0.0.1 --directory "$m" "$port" > "$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done

# The default cache ($XDG_CACHE_HOME/kubescratch) and install folder, as a learner would get them.
export XDG_CACHE_HOME="$work/xdg"
installed="$XDG_CACHE_HOME/kubescratch/bin/$k8s"
setup=("$ks" setup --kubernetes "$k8s" --etcd "$etcd" --containerd "v$containerd" --runc "$runc" --cni "$cni"
       --only kubernetes --only etcd --only containerd --only runc --only cni --mirror "http://127.0.0.1:$port")
start=$(date +%s%N)
"${setup[@]}"
echo "  setup from the mirror took $(( ($(date +%s%N) - start) / 1000000 )) ms"
for pair in "kube-apiserver:$BIN/kube-apiserver" "kubelet:$BIN/kubelet" "kubectl:$BIN/kubectl" "etcd:/usr/bin/etcd" \
            "etcdctl:/usr/bin/etcdctl" "containerd:/usr/bin/containerd" "containerd-shim-runc-v2:/usr/bin/containerd-shim-runc-v2" \
            "ctr:/usr/bin/ctr" "runc:$(command -v runc)" "cni/bridge:/usr/lib/cni/bridge" "cni/portmap:/usr/lib/cni/portmap"; do
  cmp "$installed/${pair%%:*}" "${pair#*:}" || { echo "setup: $installed/${pair%%:*} differs from ${pair#*:}"; exit 1; }
  [ -x "$installed/${pair%%:*}" ] || { echo "setup: $installed/${pair%%:*} is not executable"; exit 1; }
done
echo "  ok: every installed binary equals its source and is executable"
# No --bin-dir, no KUBESCRATCH_BIN_DIR, no earlier node: the commands find what setup installed.
env -u KUBESCRATCH_BIN_DIR KUBESCRATCH_STATE_DIR="$work/state" "$ks" doctor > "$work/doctor.txt" \
  || { cat "$work/doctor.txt"; echo "setup: doctor fails on the installed folder"; exit 1; }
grep -q "PASS  CNI plugin bridge .*$installed/cni/bridge" "$work/doctor.txt" \
  || { cat "$work/doctor.txt"; echo "setup: doctor did not find the installed folder by itself"; exit 1; }
echo "  ok: doctor passes on the installed folder, found without --bin-dir"
requests=$(grep -c '"GET ' "$work/server.log")
"${setup[@]}" > "$work/again.txt"
grep -q "verified copy in the cache" "$work/again.txt" || { cat "$work/again.txt"; echo "setup: the second run did not use the cache"; exit 1; }
if grep -q '"GET /dl.k8s.io/release/v1.20.2/bin/linux/amd64/kubelet HTTP' <(tail -n +"$((requests + 1))" "$work/server.log"); then
  echo "setup: the second run downloaded kubelet again"; exit 1
fi
echo "  ok: a second run installs from the verified cache without downloading"
"$ks" setup --kubernetes "$k8s" --runc "$runc" --only runc --mirror "http://127.0.0.1:$port" --cache "$work/cache" --bin-dir "$work/bin" > /dev/null
cmp "$work/bin/runc" "$(command -v runc)" && [ -f "$work/cache/pinned-release" ] || { echo "setup: --cache/--bin-dir not honoured"; exit 1; }
echo "  ok: --cache and --bin-dir put the files where asked"
