#!/usr/bin/env bash
# The packet trace (issue 20). `trace.sh` at the end of stage 5: `kubescratch trace` to the lesson's NodePort. Its last
# DNAT must name the pod that conntrack says answered, one of the Service's endpoints; repeated traces reach at least
# two different pods (kube-proxy picks one at random per connection: three endpoints, 1/3 each, so eight traces all on
# one pod would happen once in about 2,000 runs). Then the ClusterIP from inside a web pod: it enters by PREROUTING
# (the node routes it), matches the ClusterIP's rule without KUBE-NODEPORTS, and reaches an endpoint.
# `trace.sh 6 [WORKER]` at the end of stage 6: a web pod on the worker (node-2 by default) by its pod IP leaves by its
# link (no DNAT); the NodePort on its address is handled by its own rules, read in its namespace. Needs $BIN and the debug build (run from
# tests/e2e/run.sh).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ks="$PWD/.build/debug/kubescratch"
# read_path: from a trace's report in $out, the last DNAT's IP:PORT ($dnat) and the address conntrack saw answer ($reply).
read_path() {
  dnat=$(grep -o '→ DNAT [0-9.]*:[0-9]*' <<<"$out" | tail -1 | awk '{print $3}')
  reply=$(sed -n 's/^the reply came from \([0-9.]*\):.*/\1/p' <<<"$out")
}
kc() { KUBECONFIG=$KUBESCRATCH_STATE_DIR/kubeconfigs/admin.kubeconfig HOME=$KUBESCRATCH_STATE_DIR/kubectl-home "$BIN/kubectl" "$@"; }
if [ "${1:-5}" = 6 ]; then
  worker=${2:-node-2}
  # The worker's address and pod range from the plan (status --json), not restated here.
  read -r address prefix < <("$ks" status --json | python3 -c '
import json, sys
node = next(n for n in json.load(sys.stdin)["nodes"] if n["name"] == sys.argv[1])
print(node["address"], node["podRange"].rsplit(".", 2)[0])' "$worker")
  out=$("$ks" trace "pod-on-$worker")
  grep -q "no DNAT" <<<"$out" || { echo "trace: a request to a pod IP was rewritten:"; echo "$out"; exit 1; }
  grep -qF "route to it: $prefix." <<<"$out" && grep -qF " via $address dev ks-to-$worker" <<<"$out" \
    || { echo "trace: the route to $worker's pod does not cross its link:"; echo "$out"; exit 1; }
  grep -q "on $worker$" <<<"$out" || { echo "trace: the reply did not come from a pod on $worker:"; echo "$out"; exit 1; }
  echo "  ok: a request to $worker's pod crossed its link: $(grep '^route to it' <<<"$out")"
  out=$("$ks" trace "$worker" --json)
  python3 - "$out" "$worker" <<'PY'
import json, sys
report, worker = json.loads(sys.argv[1]), sys.argv[2]
assert report["rulesOf"] == worker, report["rulesOf"]
steps = report["outcome"]["traced"]["_0"]
chains = [s["rule"]["chain"] for s in steps]
assert chains[0] == "PREROUTING", chains  # it came in by the worker's link, not from a program on it
dnat = [s["rule"]["spec"].split("--to-destination ")[1].split()[0] for s in steps if s["rule"]["spec"].find("-j DNAT") >= 0]
assert dnat and dnat[-1].split(":")[0] == report["replySource"], (dnat, report["replySource"])
assert report["podNode"] == worker or " dev ks-to-host " in report["route"], report
print(f"  ok: {worker}'s NodePort: {worker}'s own nat table, {' > '.join(c for c in chains if c.startswith('KUBE-'))}, "
      f"answered by {report['pod']} on {report['podNode']} (route: {report['route']})")
PY
  exit 0
fi
endpoints=$(kc get endpoints web -o jsonpath='{.subsets[*].addresses[*].ip}')
[ -n "$endpoints" ] || { echo "trace: the Service web has no endpoints"; exit 1; }
seen=()
for i in $(seq 1 8); do
  out=$("$ks" trace)
  read_path
  [ -n "$dnat" ] && [ -n "$reply" ] || { echo "trace: no DNAT or no conntrack reply source in:"; echo "$out"; exit 1; }
  [ "${dnat%:*}" = "$reply" ] || { echo "trace: the rules sent it to $dnat but the reply came from $reply:"; echo "$out"; exit 1; }
  grep -qw "$reply" <<<"$endpoints" || { echo "trace: $reply is not an endpoint of web ($endpoints)"; exit 1; }
  for chain in KUBE-SERVICES KUBE-NODEPORTS KUBE-SVC- KUBE-SEP-; do
    grep -q "$chain" <<<"$out" || { echo "trace: the path does not go through $chain:"; echo "$out"; exit 1; }
  done
  grep -q "HTTP/1.[01] 200" <<<"$out" || { echo "trace: the request was not answered 200:"; echo "$out"; exit 1; }
  [ "$i" = 1 ] && sed 's/^/    | /' <<<"$out"
  seen+=("$reply")
  [ "$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)" -ge 2 ] && break
done
distinct=$(printf '%s\n' "${seen[@]}" | sort -u | wc -l)
[ "$distinct" -ge 2 ] || { echo "trace: ${#seen[@]} traces all reached ${seen[0]}: kube-proxy's random choice never picked another endpoint"; exit 1; }
echo "  ok: each trace's DNAT is the pod conntrack saw answer, an endpoint of web; ${#seen[@]} traces reached $distinct different pods (${seen[*]})"

# From inside a pod to the ClusterIP: PREROUTING, the ClusterIP's own rule, one endpoint.
out=$("$ks" trace cluster-ip)
grep -q "^one new connection from pod web-" <<<"$out" || { echo "trace: the ClusterIP trace was not sent from a web pod:"; echo "$out"; exit 1; }
grep -q '^  PREROUTING #[0-9]*  "kubernetes service portals"  → KUBE-SERVICES' <<<"$out" || { echo "trace: a pod's packet did not enter by PREROUTING:"; echo "$out"; exit 1; }
grep -q "cluster IP\"  → KUBE-SVC-" <<<"$out" || { echo "trace: no ClusterIP rule matched:"; echo "$out"; exit 1; }
grep -q "KUBE-NODEPORTS" <<<"$out" && { echo "trace: a ClusterIP request went through KUBE-NODEPORTS:"; echo "$out"; exit 1; }
read_path
[ "${dnat%:*}" = "$reply" ] && grep -qw "$reply" <<<"$endpoints" || { echo "trace: the ClusterIP's DNAT $dnat, reply $reply, endpoints $endpoints:"; echo "$out"; exit 1; }
echo "  ok: from $(sed -n 's/^one new connection from \(pod [^ ]*\).*/\1/p' <<<"$out") to the ClusterIP: PREROUTING > KUBE-SERVICES > KUBE-SVC > KUBE-SEP, DNAT $dnat = the reply's source"

# The nftables way (kube-proxy's nftables mode has no counters): a table of our own marks the packet, `nft monitor trace`
# reports its way. Here it reads the rules v1.20's kube-proxy wrote through iptables-nft; it must find the same kind of
# path, the DNAT to the pod that answered, and leave no table of its own behind.
out=$("$ks" trace --method nftrace)
grep -q "as the kernel's trace events reported them" <<<"$out" || { echo "trace: the nftrace method did not report trace events:"; echo "$out"; exit 1; }
read_path
[ -n "$dnat" ] && [ "${dnat%:*}" = "$reply" ] || { echo "trace: nftrace's DNAT '$dnat' is not the reply's source '$reply':"; echo "$out"; exit 1; }
for chain in KUBE-SERVICES KUBE-NODEPORTS KUBE-SVC- KUBE-SEP-; do grep -q "$chain" <<<"$out" || { echo "trace: nftrace's path lacks $chain:"; echo "$out"; exit 1; }; done
if nft list tables | grep -q kubescratch-trace; then echo "trace: nftrace left its table behind"; nft list tables; exit 1; fi
echo "  ok: nftrace (nft monitor trace, a table of our own, removed after): the same path, DNAT $dnat = the reply's source"
