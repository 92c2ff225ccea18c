#!/usr/bin/env bash
# The packet trace (issue 20) at the end of stage 5: `kubescratch trace` to the lesson's NodePort. Its last DNAT must
# name the pod that conntrack says answered, one of the Service's endpoints; repeated traces reach at least two
# different pods (kube-proxy picks one at random per connection: three endpoints, 1/3 each, so eight traces all on
# one pod would happen once in about 2,000 runs). Needs $BIN and the debug build (run from tests/e2e/run.sh).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ks="$PWD/.build/debug/kubescratch"
kc() { KUBECONFIG=$KUBESCRATCH_STATE_DIR/kubeconfigs/admin.kubeconfig HOME=$KUBESCRATCH_STATE_DIR/kubectl-home "$BIN/kubectl" "$@"; }
endpoints=$(kc get endpoints web -o jsonpath='{.subsets[*].addresses[*].ip}')
[ -n "$endpoints" ] || { echo "trace: the Service web has no endpoints"; exit 1; }
seen=()
for i in $(seq 1 8); do
  out=$("$ks" trace)
  dnat=$(grep -o '→ DNAT [0-9.]*:[0-9]*' <<<"$out" | tail -1 | awk '{print $3}')
  reply=$(sed -n 's/^the reply came from \([0-9.]*\):.*/\1/p' <<<"$out")
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
