#!/usr/bin/env bash
# After stage 6 was rewound: nothing of any worker (node-2, node-3, …) may be left, while node-1 runs on. Workers are
# found by the names kubescratch gives them (ks-node-N, ks-to-node-N, <state>/node-N, /ks-node-N), so a cluster of any
# size is checked the same way. Prints each finding; exits 1 if any.
set -u
state=${KUBESCRATCH_STATE_DIR:-/var/lib/kubescratch}
found=0
fail() { echo "RESIDUE (workers): $*"; found=1; }

ls /run/netns 2>/dev/null | grep -q '^ks-node-' && fail "network namespaces: $(ls /run/netns | grep '^ks-node-' | tr '\n' ' ')"
ip -o link show | grep -q ' ks-to-node-' && fail "veths: $(ip -o link show | grep -o 'ks-to-node-[0-9]*' | sort -u | tr '\n' ' ')"
# Pod routes to workers (10.200.1-255.0/24), the guard, and the links (10.201/16).
ip route show | grep -E '^10\.200\.([1-9]|[1-9][0-9]|1[0-9][0-9]|2[0-5][0-9])\.0/24|blackhole 10\.200\.0\.0/16|10\.201\.' && fail "routes of workers on the host"
ls -d /sys/fs/cgroup/*/ks-node-* /sys/fs/cgroup/ks-node-* 2>/dev/null | grep -q . && fail "cgroup folders: $(ls -d /sys/fs/cgroup/*/ks-node-* 2>/dev/null | head -3)"
grep -q " $state/node-" /proc/self/mountinfo && fail "mounts under $state/node-*: $(grep " $state/node-" /proc/self/mountinfo | awk '{print $5}' | head -3)"
case " ${BASELINE_PATHS:-} " in *" /run/netns "*) ;; *) [ -e /run/netns ] && fail "/run/netns (made by ip netns add) is still here" ;; esac
if [ "${BASELINE_NETNS_MOUNTED:-0}" = 0 ] && awk '$5 == "/run/netns"' /proc/self/mountinfo | grep -q .; then fail "/run/netns is still a mount point"; fi
ls -d "$state"/node-* 2>/dev/null | grep -q . && fail "worker folders: $(ls -d "$state"/node-*)"
# A worker's mount namespace (v1.20) lives as long as a process is in it or its file stays bound: any process whose
# mount table still shows a worker's folder means it was not ended.
for mi in /proc/[0-9]*/mountinfo; do
  grep -qs " $state/node-" "$mi" && fail "a mount namespace with a worker's mounts is alive (${mi%/mountinfo}: $(tr '\0' ' ' < "${mi%/mountinfo}/cmdline" 2>/dev/null))"
done
ls "$state"/run/components/node-* 2>/dev/null | grep -q . && fail "supervisor records of workers' components: $(ls "$state"/run/components/node-*)"
for pid in $(ls /proc | grep -E '^[0-9]+$'); do
  [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = "Z" ] && continue
  cmd=$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)
  case "$cmd" in *"$state/node-"*|*ks-node-*) fail "process $pid: $cmd" ;; esac
done
kc() { KUBECONFIG=$state/kubeconfigs/admin.kubeconfig HOME=$state/kubectl-home "$BIN/kubectl" "$@"; }
nodes=$(kc get nodes -o name 2>/dev/null | grep '^node/node-')
[ -n "$nodes" ] && fail "Node objects: $nodes"
ls /var/lib/cni/results 2>/dev/null | grep -q '^kubescratch-node-' && fail "CNI results of workers in /var/lib/cni/results"
[ $found = 0 ] && echo "  ok: no worker left anything behind: no namespace, veth, route, cgroup, mount, folder, process or Node object"
exit $found
