#!/usr/bin/env bash
# After stage 6 was rewound: nothing of node-2 may be left, while node-1 runs on. Prints each finding; exits 1 if any.
set -u
state=${KUBESCRATCH_STATE_DIR:-/var/lib/kubescratch}
found=0
fail() { echo "RESIDUE (node-2): $*"; found=1; }

[ -e /run/netns/ks-node-2 ] && fail "network namespace ks-node-2"
ip link show ks-to-node-2 >/dev/null 2>&1 && fail "veth ks-to-node-2"
ip route show | grep -E '10\.200\.1\.0/24|blackhole 10\.200\.0\.0/16|10\.201\.0\.' && fail "routes of node-2 on the host"
ls -d /sys/fs/cgroup/*/ks-node-2 /sys/fs/cgroup/ks-node-2 2>/dev/null | grep -q . && fail "cgroup folders /ks-node-2"
grep -q " $state/node-2" /proc/self/mountinfo && fail "mounts under $state/node-2: $(grep " $state/node-2" /proc/self/mountinfo | awk '{print $5}' | head -3)"
case " ${BASELINE_PATHS:-} " in *" /run/netns "*) ;; *) [ -e /run/netns ] && fail "/run/netns (made by ip netns add) is still here" ;; esac
if [ "${BASELINE_NETNS_MOUNTED:-0}" = 0 ] && awk '$5 == "/run/netns"' /proc/self/mountinfo | grep -q .; then fail "/run/netns is still a mount point"; fi
[ -e "$state/node-2" ] && fail "$state/node-2 still exists"
# node-2's mount namespace (v1.20) lives as long as a process is in it or its file stays bound: any process whose
# mount table still shows node-2's folder means it was not ended.
for mi in /proc/[0-9]*/mountinfo; do
  grep -qs " $state/node-2" "$mi" && fail "a mount namespace with node-2's mounts is alive (${mi%/mountinfo}: $(tr '\0' ' ' < "${mi%/mountinfo}/cmdline" 2>/dev/null))"
done
ls "$state"/run/components/node-2-* 2>/dev/null | grep -q . && fail "supervisor records of node-2's components"
for pid in $(ls /proc | grep -E '^[0-9]+$'); do
  [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = "Z" ] && continue
  cmd=$(tr '\0' ' ' < /proc/$pid/cmdline 2>/dev/null)
  case "$cmd" in *"$state/node-2"*|*ks-node-2*) fail "process $pid: $cmd" ;; esac
done
kc() { KUBECONFIG=$state/kubeconfigs/admin.kubeconfig HOME=$state/kubectl-home "$BIN/kubectl" "$@"; }
kc get node node-2 >/dev/null 2>&1 && fail "the Node object node-2"
ls /var/lib/cni/results 2>/dev/null | grep -q '^kubescratch-node-2-' && fail "CNI results of node-2 in /var/lib/cni/results"
[ $found = 0 ] && echo "  ok: node-2 left nothing behind: no namespace, veth, route, cgroup, mount, folder, process or Node object"
exit $found
