#!/usr/bin/env bash
# What a machine's restart does to a kubescratch node, without restarting the machine: every component and container
# process is killed (SIGKILL, no goodbye), everything mounted under the state folder and the workers' namespaces goes,
# cni0 and the workers' links go, the KUBE-*/CNI-* iptables chains go, and the pod cgroups and /run/containerd/s sockets
# go. The state folder's files stay, as they would on disk.
set -u
state=${KUBESCRATCH_STATE_DIR:-/var/lib/kubescratch}
killed=0
for pid in $(ls /proc | grep -E '^[0-9]+$'); do
  [ "$pid" = $$ ] && continue
  cmd=$(tr '\0' ' ' 2>/dev/null </proc/$pid/cmdline) || continue
  cg=$(cat 2>/dev/null </proc/$pid/cgroup)
  case "$cmd" in *"$state"*|*containerd-shim*) kill -9 "$pid" 2>/dev/null && killed=$((killed + 1)); continue ;; esac
  case "$cg" in *kubepods*|*ks-node-*) kill -9 "$pid" 2>/dev/null && killed=$((killed + 1)) ;; esac
done
sleep 0.5
mounts=$(awk -v s="$state" 'index($5, s) == 1 {print $5}' /proc/self/mountinfo | sort -r)
for m in $mounts; do umount -l "$m" 2>/dev/null; done
for ns in $(ls /run/netns 2>/dev/null | grep '^ks-node-'); do ip netns del "$ns" 2>/dev/null; done
ip link del cni0 2>/dev/null
for link in $(ip -o link show | grep -o 'ks-to-node-[0-9]*' | sort -u); do ip link del "$link" 2>/dev/null; done
ip route del blackhole 10.200.0.0/16 2>/dev/null
# The routes to the workers' pods went with their links; one to a range whose link is gone would stay.
ip route show | awk '$1 ~ /^10\.200\./ && $2 == "via" {print $1}' | while read -r range; do ip route del "$range" 2>/dev/null; done
for t in iptables ip6tables; do
  for table in filter nat mangle; do
    chains=$($t -w -t $table -S | awk '$1 == "-N" && ($2 ~ /^KUBE-/ || $2 ~ /^CNI-/) {print $2}')
    [ -z "$chains" ] && continue
    $t -w -t $table -S | awk '$1 == "-A" && /-j (KUBE-|CNI-)/' | while read -r rule; do
      chain=$(echo "$rule" | awk '{print $2}')
      case "$chain" in KUBE-*|CNI-*) continue ;; esac
      eval "$t -w -t $table ${rule/-A/-D}" 2>/dev/null
    done
    for c in $chains; do $t -w -t $table -F "$c" 2>/dev/null; done
    for c in $chains; do $t -w -t $table -X "$c" 2>/dev/null; done
  done
done
for root in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods /sys/fs/cgroup/*/ks-node-* /sys/fs/cgroup/ks-node-*; do
  [ -d "$root" ] && find "$root" -depth -type d -exec rmdir {} \; 2>/dev/null
done
for socket in /run/containerd/s/*; do  # not the ones a host's own containerd had before the lane
  case " ${BASELINE_SHIM_SOCKETS:-} " in *" ${socket##*/} "*) ;; *) rm -f "$socket" ;; esac
done
echo "reboot: killed $killed process(es), unmounted $(echo "$mounts" | grep -c .) mount(s); cni0, the workers' namespaces and links, KUBE-*/CNI-* chains and pod cgroups gone"
