#!/usr/bin/env bash
# The end-to-end lane: the real Kubernetes v1.20.2 components, stage by stage, on this machine.
# Needs root and the packages of scripts/install-host-packages.sh. Fails loudly; never skips.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

export KUBESCRATCH_STATE_DIR=${KUBESCRATCH_STATE_DIR:-/var/lib/kubescratch}
ks=("$repo/.build/debug/kubescratch")
[ -x "${ks[0]}" ] || { echo "e2e: build kubescratch first (swift build)"; exit 1; }

# The product's own source build (the newcomer lane's install runs it first; here it is reused from the cache).
echo "== e2e: Kubernetes v1.20.2 through kubescratch setup --source debian"
start_setup=$(date +%s%N)
"${ks[@]}" setup --source debian | tee /tmp/kubescratch-e2e-setup.out
BIN=$(sed -n 's/^installed in \(.*\)\. Next:.*/\1/p' /tmp/kubescratch-e2e-setup.out | tail -1)
[ -x "$BIN/kubelet" ] || { echo "e2e: setup --source debian did not say where it installed the binaries"; exit 1; }
export BIN
common=(--yes --offline --bin-dir "$BIN")

echo "== e2e: reset (the machine may be dirty from an earlier killed run)"
"${ks[@]}" reset

echo "== e2e: doctor on this machine"
"${ks[@]}" doctor --bin-dir "$BIN"

echo "== e2e: someone who skipped setup gets one screen saying what to run"
empty=$(mktemp -d)
if KUBESCRATCH_BIN_DIR=$empty PATH=/usr/sbin:/usr/bin:/sbin:/bin "${ks[@]}" run --through 1 --yes --plain >"$empty.out" 2>&1; then
  echo "e2e: run without any Kubernetes binary succeeded"; false
fi
grep -q "kubescratch has no Kubernetes binaries yet" "$empty.out" && grep -q "  kubescratch setup " "$empty.out" \
  || { cat "$empty.out"; echo "e2e: no binaries, but not the one screen that says what to run"; false; }
rm -rf "$empty" "$empty.out"
echo "  ok: no binaries: the message names kubescratch setup"

echo "== e2e: setup from a release-shaped mirror on 127.0.0.1"
bash tests/e2e/setup_mirror.sh

export NODE_NAME=$(hostname | tr 'A-Z' 'a-z')
export NODE_IP=$(ip -4 route show default | awk '{for (i=1;i<NF;i++) if ($i=="dev") print $(i+1)}' | head -1 | xargs -I{} ip -4 -o addr show dev {} | awk '{print $4}' | cut -d/ -f1 | head -1)
export BASELINE_VETHS=$(ip -o link show type veth 2>/dev/null | awk '{print $2}' | sort)
# A host with Docker or a system containerd already has /run/containerd: the lane makes it when it is missing, so reset
# is proven to remove only the shim sockets of ours in it and leave the folder (it is removed again at the end).
made_run_containerd=0
if [ ! -e /run/containerd ]; then
  mkdir -p /run/containerd/s && made_run_containerd=1
  echo "== e2e: made /run/containerd/s before the first stage, as a host with Docker has it"
fi
export BASELINE_PATHS=$(for p in /var/lib/kubelet /var/log/pods /var/log/containers /var/lib/cni /usr/libexec/kubernetes /run/mount /root/.kube /run/netns; do [ -e $p ] && echo -n "$p "; done; true)
export BASELINE_NETNS_MOUNTED=$(if awk '$5 == "/run/netns"' /proc/self/mountinfo | grep -q .; then echo 1; else echo 0; fi)
export BASELINE_SHIM_SOCKETS=$(ls /run/containerd/s 2>/dev/null | tr '\n' ' ')
echo "== e2e: node $NODE_NAME at $NODE_IP, binaries in $BIN"

# Egress audit: every new connection made while the cluster runs is logged by conntrack. An empty chain
# hooked with a conntrack match makes the kernel track flows even before kube-proxy and CNI add rules.
audit_dir=$(mktemp -d)
for t in iptables ip6tables; do
  $t -w -N E2E-EGRESS-AUDIT 2>/dev/null || true
  $t -w -A OUTPUT -m conntrack --ctstate NEW -j E2E-EGRESS-AUDIT
  $t -w -A FORWARD -m conntrack --ctstate NEW -j E2E-EGRESS-AUDIT
done
conntrack -E -e NEW -f ipv4 >"$audit_dir/ipv4" 2>/dev/null & ct4=$!
conntrack -E -e NEW -f ipv6 >"$audit_dir/ipv6" 2>/dev/null & ct6=$!
stop_audit() {
  kill $ct4 $ct6 2>/dev/null || true
  for t in iptables ip6tables; do
    $t -w -D OUTPUT -m conntrack --ctstate NEW -j E2E-EGRESS-AUDIT 2>/dev/null || true
    $t -w -D FORWARD -m conntrack --ctstate NEW -j E2E-EGRESS-AUDIT 2>/dev/null || true
    $t -w -X E2E-EGRESS-AUDIT 2>/dev/null || true
  done
}
observer=
trap '[ -n "$observer" ] && kill "$observer" 2>/dev/null; stop_audit; echo "== e2e: FAILED; component logs:"; for f in $KUBESCRATCH_STATE_DIR/logs/*.log; do echo "--- $f"; tail -20 "$f"; done 2>/dev/null; "${ks[@]}" reset >/dev/null 2>&1 || true' ERR

timings=("setup --source debian: $(( ($(date +%s%N) - start_setup) / 1000000 )) ms")
passed=0
pass() { passed=$((passed + 1)); }
seconds_since() { local ms=$(( ($(date +%s%N) - $1) / 1000000 )); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }
run_stage() {  # run_stage N [--break]: run through stage N (and its break-it section), then assert the real state
  local n=$1 breakit=${2:-}
  local start=$(date +%s%N)
  if [ -n "$breakit" ]; then
    python3 tests/e2e/observe_breakit.py watch "$n" "$audit_dir/breakit$n.jsonl" & observer=$!
  fi
  "${ks[@]}" run --through "$n" --plain "${common[@]}" $breakit | tee "$audit_dir/stage$n.out"
  timings+=("stage $n${breakit:+ and its break-it section}: $(seconds_since "$start") s")
  if [ -n "$breakit" ]; then
    sleep 1.5  # a few looks at the healed node after the run, which may end a moment after healing it
    kill -TERM "$observer"; wait "$observer" || true
    observer=
    grep -q "━━ break it, stage $n, done in" "$audit_dir/stage$n.out" || { echo "e2e: the break-it section of stage $n did not run"; false; }
    python3 tests/e2e/observe_breakit.py judge "$n" "$audit_dir/breakit$n.jsonl"
    pass
  fi
  python3 tests/e2e/assert_stage.py "$n"
  pass
  if [ "$n" -ge 2 ]; then KS="${ks[0]}" python3 tests/e2e/assert_traffic.py "$n"; pass; fi
  # Two nodes side by side with every pod listed need more room than one.
  local size=(--width 160 --height 50); [ "$n" = 6 ] && size=(--width 200 --height 60)
  "${ks[@]}" diagram --ascii "${size[@]}" --svg "$audit_dir/diagram$n.svg" >"$audit_dir/diagram$n.txt"
  python3 tests/e2e/assert_diagram.py "$n" "$("${ks[@]}" status --json)" <"$audit_dir/diagram$n.txt"
  pass
}

echo "== e2e: the terminal UI runs stage 1 (tmux)"
start=$(date +%s%N)
bash tests/e2e/tui.sh
timings+=("stage 1 in the terminal UI, keys and quits included: $(seconds_since "$start") s")
python3 tests/e2e/assert_stage.py 1
pass

echo "== e2e: stages 2-5 in plain text, one at a time, each with its break-it section"
for n in 2 3 4 5; do run_stage "$n" --break; done

echo "== e2e: diagram-free status check"
"${ks[@]}" status --json | python3 -c '
import json, sys
report = json.load(sys.stdin)
assert report["completedStage"] == 5, report["completedStage"]
bad = [c for c in report["components"] if c["state"] != "running" or not c["healthy"]]
assert not bad, bad
print("  ok: status says all 7 components running and healthy")'
pass

echo "== e2e: the tutorial's command line and kubescratch env (tmux, at the end of stage 5)"
start=$(date +%s%N)
bash tests/e2e/command_line.sh
timings+=("the command line in the terminal UI: $(seconds_since "$start") s")
pass

echo "== e2e: a packet's path through kube-proxy's rules (kubescratch trace, at the end of stage 5)"
start=$(date +%s%N)
bash tests/e2e/trace.sh
timings+=("traces to the NodePort: $(seconds_since "$start") s")
pass

echo "== e2e: break it: without the scheduler a new pod stays Pending; with it again, it is bound"
"${ks[@]}" break kube-scheduler --bin-dir "$BIN"
kc() { KUBECONFIG=$KUBESCRATCH_STATE_DIR/kubeconfigs/admin.kubeconfig HOME=$KUBESCRATCH_STATE_DIR/kubectl-home "$BIN/kubectl" "$@"; }
kc run breakit --image=localhost/kubescratch-web:1.0 --image-pull-policy=IfNotPresent --restart=Never
sleep 5
[ -z "$(kc get pod breakit -o jsonpath='{.spec.nodeName}')" ] || { echo "breakit was bound without a scheduler"; false; }
echo "  ok: breakit still unbound after 5 s without kube-scheduler"
"${ks[@]}" break kube-scheduler --undo --bin-dir "$BIN"
for i in $(seq 1 30); do [ -n "$(kc get pod breakit -o jsonpath='{.spec.nodeName}')" ] && break; sleep 1; done
[ "$(kc get pod breakit -o jsonpath='{.spec.nodeName}')" = "$NODE_NAME" ] || { echo "breakit not bound after the scheduler came back"; false; }
echo "  ok: breakit bound once kube-scheduler runs again"
kc delete pod breakit --grace-period=0 --force >/dev/null 2>&1
pass

echo "== e2e: stage 6: a second node in its own network namespace joins, runs pods, goes away and comes back"
run_stage 6 --break
stage6_end=$(date +%s)
bash tests/e2e/trace.sh 6
"${ks[@]}" status | sed -n '/^COMPONENT/,$p' | grep -E '^(COMPONENT|node-2-)' | sed 's/^/  /'

echo "== e2e: kubectl logs of every pod on both nodes, after both kubelets' garbage collection ran (issue 25)"
start=$(date +%s%N)
python3 tests/e2e/pod_logs.py "$stage6_end"
timings+=("pod logs on both nodes after two GC periods (mostly waiting): $(seconds_since "$start") s")
pass

echo "== e2e: a reboot at the end of stage 6 (every process killed, mounts, cni0, node-2's namespaces and the chains gone): ONE run brings the node back"
bash tests/e2e/reboot.sh
start=$(date +%s%N)
"${ks[@]}" run --plain "${common[@]}" --steps-only | tee "$audit_dir/reboot6.out"
timings+=("one run after a reboot at the end of stage 6 (recover 1-5, stage 6 again): $(seconds_since "$start") s")
grep -q "node-2's network namespace is gone" "$audit_dir/reboot6.out" || { echo "e2e: the run did not say node-2 was gone"; false; }
grep -q "stage 6 done in" "$audit_dir/reboot6.out" || { echo "e2e: stage 6 did not run again after the reboot"; false; }
python3 tests/e2e/assert_stage.py 6
pass

echo "== e2e: replay stage 3 from the end of stage 6 (reset, node-2 included, then the kept end of stage 2 restored)"
start=$(date +%s%N)
"${ks[@]}" stage 3 --plain "${common[@]}" --steps-only | tee "$audit_dir/replay3.out"
timings+=("replay stage 3 from the end of stage 6 (reset + restore the end of 2 + run 3): $(seconds_since "$start") s")
back=$(grep -o "back at the start of stage 3 in [0-9.]* s" "$audit_dir/replay3.out")
timings+=("  of which $back")
grep -q "restoring the end of stage 2" "$audit_dir/replay3.out" || { echo "e2e: the end of stage 2 was not restored"; false; }
bash tests/e2e/residue_workers.sh
pass
python3 tests/e2e/assert_stage.py 3
pass
# What the real runs left at the ends of stages 4 and 5, to compare with the same ends restored after the reset
# (issue 23).
run_stage 4
python3 tests/e2e/same_node.py capture "$audit_dir/real4.json"
run_stage 5
python3 tests/e2e/same_node.py capture "$audit_dir/real5.json"

echo "== e2e: reset"
start=$(date +%s%N)
"${ks[@]}" reset
timings+=("reset from stage 5: $(seconds_since "$start") s")
bash tests/e2e/residue_check.sh
pass

# restore_start N FROM: move the node to the start of stage N, which must restore the kept end of stage N-1, and
# compare every object with what the real run left there ($audit_dir/real<N-1>.json).
restore_start() {
  local n=$1 kept=$(( $1 - 1 )) start
  echo "== e2e: $2 to the start of stage $n (reset, the kept end of stage $kept restored), the same node as a real run"
  start=$(date +%s%N)
  "${ks[@]}" stage "$n" --start-only --plain "${common[@]}" --steps-only | tee "$audit_dir/forward$n.out"
  timings+=("$2 to the start of stage $n (the end of stage $kept restored): $(seconds_since "$start") s")
  grep -q "restoring the end of stage $kept" "$audit_dir/forward$n.out" || { echo "e2e: the end of stage $kept was not restored"; false; }
  python3 tests/e2e/same_node.py capture "$audit_dir/moved$kept.json"
  python3 tests/e2e/same_node.py compare "$audit_dir/real$kept.json" "$audit_dir/moved$kept.json"
  python3 tests/e2e/assert_stage.py "$kept"
  pass
}
restore_start 5 "an empty node"
restore_start 6 "the start of stage 5"

echo "== e2e: stage 6 --nodes 3 from its restored start: node-3 joins by the lesson's own steps, from the same code (issue 18)"
start=$(date +%s%N)
"${ks[@]}" stage 6 --nodes 3 --plain "${common[@]}" --steps-only | tee "$audit_dir/replay6.out"
timings+=("stage 6 --nodes 3 from its restored start: $(seconds_since "$start") s")
joined=$(grep -o "Join node-3.* done in [0-9.]* s" "$audit_dir/replay6.out" | grep -o "[0-9.]* s$")
timings+=("  of which node-3 joined in $joined")
python3 tests/e2e/assert_stage.py 6
"${ks[@]}" status --json >"$audit_dir/plan3.json"
python3 - "$audit_dir/plan3.json" <<'PY'
import json, sys
status = json.load(open(sys.argv[1]))
workers = [n for n in status["nodes"] if n.get("namespace")]
assert [n["name"] for n in workers] == ["node-2", "node-3"], [n["name"] for n in status["nodes"]]
memory = {c["component"]: c.get("memoryMiB") or 0 for c in status["components"]}
for node in workers:
    print(f"  {node['name']}: {node['address']}, pods {node['podRange']}, resident memory of its containerd, kubelet and kube-proxy: "
          f"{sum(memory.get(c, 0) for c in node['components'])} MiB")
PY
python3 tests/e2e/nodes.py
bash tests/e2e/trace.sh 6 node-3
pass
for size in 200x60 80x24; do
  "${ks[@]}" diagram --width "${size%x*}" --height "${size#*x}" >"$audit_dir/diagram3-$size.txt"
  grep -q "node node-3 · 10.201.0.6" "$audit_dir/diagram3-$size.txt" || { echo "e2e: node-3 is not in the $size diagram:"; cat "$audit_dir/diagram3-$size.txt"; false; }
done
echo "  ok: the diagram draws three nodes at 200x60 and at 80x24"

echo "== e2e: rewind stage 6 with three nodes (no kept end: the lesson's rewind removes node-3, then node-2)"
rm -rf "${XDG_CACHE_HOME:-$HOME/.cache}/kubescratch/snapshots"  # no kept end of stage 5: the move must rewind
start=$(date +%s%N)
"${ks[@]}" stage 6 --start-only --plain "${common[@]}" --steps-only | tee "$audit_dir/rewind6.out"
timings+=("rewind stage 6 with three nodes: $(seconds_since "$start") s")
grep -q "remove node-3" "$audit_dir/rewind6.out" || grep -q "node-3 is gone" "$audit_dir/rewind6.out" || { echo "e2e: the rewind did not remove node-3"; false; }
bash tests/e2e/residue_workers.sh
python3 tests/e2e/assert_stage.py 5
pass

echo "== e2e: the fault lane (kills and interrupts mid-stage, on this node)"
start=$(date +%s%N)
bash tests/e2e/faults.sh | tee "$audit_dir/faults.out"
timings+=("fault lane (11 cases: stages 1-4 and a restore): $(seconds_since "$start") s")
pass

echo "== e2e: reset again"
"${ks[@]}" reset
trap - ERR
stop_audit
bash tests/e2e/residue_check.sh
pass

if [ "$made_run_containerd" = 1 ]; then
  rmdir /run/containerd/s /run/containerd || { echo "e2e: /run/containerd is not empty after reset: $(ls -R /run/containerd | head)"; false; }
fi

echo "== e2e: egress audit (every new flow must stay on this node)"
python3 - "$audit_dir" "$NODE_IP" <<'PY'
import ipaddress, json, re, sys, pathlib
folder, node_ip = pathlib.Path(sys.argv[1]), sys.argv[2]
# Every node's pod bridge and every worker's link are addresses kubescratch assigns on links it made: the plan of
# the three-node cluster (status --json while it ran) names them all.
plan = json.load(open(folder / "plan3.json"))
pod_ranges = [ipaddress.ip_network(n["podRange"]) for n in plan["nodes"]]
links = [ipaddress.ip_network(n["link"]) for n in plan["nodes"] if n.get("link")]
assert len(pod_ranges) == 3 and len(links) == 2, plan["nodes"]
allowed = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", f"{node_ip}/32", "224.0.0.0/4", "::1/128", "ff00::/8", "fe80::/10")] + pod_ranges + links
service_range = ipaddress.ip_network(plan["serviceRange"])
flows, bad = 0, []
for name in ("ipv4", "ipv6"):
    for line in (folder / name).read_text().splitlines():
        match = re.search(r"dst=(\S+)", line)
        if not match:
            continue
        flows += 1
        destination = ipaddress.ip_address(match.group(1))
        if any(destination in net for net in allowed):
            continue
        # A ClusterIP is allowed only where kube-proxy's DNAT turned it into a pod: the reply comes from the pod bridge.
        sources = re.findall(r"src=(\S+)", line)
        if destination in service_range and len(sources) > 1 and any(ipaddress.ip_address(sources[1]) in r for r in pod_ranges):
            continue
        bad.append(line.strip())
if bad:
    print("EGRESS: connections left the node:\n" + "\n".join(bad[:20]))
    sys.exit(1)
print(f"  ok: {flows} new flows, all to loopback, {node_ip}, the workers' links, the three pod bridges or a ClusterIP DNAT-ed onto them")
PY
pass

echo "== e2e: timings"
printf '  %s\n' "${timings[@]}"
grep -h "━━ stage .* done in" "$audit_dir"/stage*.out | sed 's/━━ //; s/ ━━//; s/^/  (inside kubescratch) /'
sed -n '/== faults: results/,$p' "$audit_dir/faults.out" | tail -n +2
rm -rf "$audit_dir"
echo "e2e: PASS"
echo "e2e: $passed passed, 0 failed"
