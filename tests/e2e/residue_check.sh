#!/usr/bin/env bash
# After `kubescratch reset`: nothing of ours may be left. Prints each finding; exits 1 if any.
set -u
state=${KUBESCRATCH_STATE_DIR:-/var/lib/kubescratch}
found=0
fail() { echo "RESIDUE: $*"; found=1; }

# Live processes only: this sandbox's PID 1 does not reap orphans, so zombies (state Z) stay listed.
for pid in $(ls /proc | grep -E '^[0-9]+$'); do
  [ -r /proc/$pid/stat ] || continue
  st=$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)
  [ "$st" = "Z" ] && continue
  cmd=$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)
  case "$cmd" in
    *kube-apiserver*|*kube-scheduler*|*kube-controller-manager*|*kube-proxy*|*/kubelet\ *|*etcd\ --name*|*"$state"*|*containerd-shim*|*"httpd -f -p 80"*|*"sleep infinity"*)
      fail "process $pid: $cmd" ;;
  esac
done
grep -q " $state" /proc/self/mountinfo && fail "mounts under $state: $(grep " $state" /proc/self/mountinfo | awk '{print $5}' | head -5)"
ip link show cni0 >/dev/null 2>&1 && fail "bridge cni0 exists"
veths=$(ip -o link show type veth 2>/dev/null | awk '{print $2}' | sort)
[ "$veths" != "${BASELINE_VETHS:-}" ] && fail "veths now: $veths (before: ${BASELINE_VETHS:-none})"
for t in iptables ip6tables; do
  rules=$($t-save 2>/dev/null | grep -E 'KUBE-|CNI-' | head -5)
  [ -n "$rules" ] && fail "$t chains/rules: $rules"
done
command -v nft >/dev/null && nft list tables 2>/dev/null | grep -q kubescratch-trace && fail "nftables table kubescratch-trace exists"
[ -e "$state" ] && fail "$state still exists"
for p in /var/lib/kubelet /var/log/pods /var/log/containers /var/lib/cni /usr/libexec/kubernetes /run/mount /root/.kube; do
  case " ${BASELINE_PATHS:-} " in *" $p "*) continue ;; esac
  [ -e "$p" ] && fail "$p exists"
done
ls -d /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods 2>/dev/null | grep -q . && fail "kubepods cgroups remain"
# Stage 6's workers (node-2, node-3, …), by the names kubescratch gives them.
# A worker's mount namespace (v1.20) lives as long as a process is in it or its file stays bound: any process whose
# mount table still shows a worker's folder means it was not ended.
for mi in /proc/[0-9]*/mountinfo; do
  grep -qs " $state/node-" "$mi" && fail "a mount namespace with a worker's mounts is alive (${mi%/mountinfo}: $(tr '\0' ' ' < "${mi%/mountinfo}/cmdline" 2>/dev/null))"
done
ls /run/netns 2>/dev/null | grep -q '^ks-node-' && fail "network namespaces: $(ls /run/netns | grep '^ks-node-' | tr '\n' ' ')"
ip -o link show | grep -q ' ks-to-node-' && fail "veths: $(ip -o link show | grep -o 'ks-to-node-[0-9]*' | sort -u | tr '\n' ' ')"
ip route show | grep -qE '^10\.200\.|blackhole 10\.200\.0\.0/16|10\.201\.' && fail "routes of workers: $(ip route show | grep -E '10\.20[01]\.')"
ls -d /sys/fs/cgroup/*/ks-node-* /sys/fs/cgroup/ks-node-* 2>/dev/null | grep -q . && fail "cgroup folders /ks-node-*"
# ip netns add's bind mount of /run/netns, and the folder, where neither was there before.
case " ${BASELINE_PATHS:-} " in *" /run/netns "*) ;; *) [ -e /run/netns ] && fail "/run/netns exists (made by ip netns add)" ;; esac
if [ "${BASELINE_NETNS_MOUNTED:-0}" = 0 ] && awk '$5 == "/run/netns"' /proc/self/mountinfo | grep -q .; then fail "/run/netns is still a mount point"; fi
# The shims' sockets in the host's /run/containerd/s, which stays when it was there before (a host with Docker).
if [ -d /run/containerd/s ]; then
  new_sockets=$(comm -13 <(printf '%s\n' ${BASELINE_SHIM_SOCKETS:-} | sort) <(ls /run/containerd/s | sort))
  [ -n "$new_sockets" ] && fail "shim sockets left in /run/containerd/s: $(echo $new_sockets | head -c 200)"
fi
ss -ltnH 2>/dev/null | grep -E ':(2379|2380|6443|10248|10249|10250|10256|10257|10259|30080) ' && fail "ports still listening"
[ $found = 0 ] && echo "residue check: clean"
exit $found
