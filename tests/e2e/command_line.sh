#!/usr/bin/env bash
# The tutorial's command line (issue 21), through tmux on a node at the end of stage 5: `:kubectl get nodes` shows the
# node in the output pane; `:kubectl get pods -w` is stopped by Ctrl-C within a second while the tutorial keeps
# running; `!` and `exit` come back to the same screen; `t` puts the lesson's suggestion on the prompt and Enter runs
# it; `kubescratch env` sets up another shell; P draws one packet's path. Needs $BIN, $NODE_NAME, the debug build (run from tests/e2e/run.sh).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ks="$PWD/.build/debug/kubescratch"
sock=$(mktemp -u /tmp/kubescratch-cmdline.XXXXXX)
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; rm -f "$sock"' EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
screen() { tmux -S "$sock" capture-pane -p; }
wait_for() {  # wait_for PATTERN [SECONDS]
  local deadline=$(( $(date +%s) + ${2:-30} ))
  until screen | grep -qF -- "$1"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "command line: timed out waiting for '$1'; the screen:"; screen; return 1; fi
    sleep 0.1
  done
}
type_line() { tmux -S "$sock" send-keys ':'; tmux -S "$sock" send-keys -l "$1"; wait_for ":$1" 5; tmux -S "$sock" send-keys Enter; }
enter_line() { tmux -S "$sock" send-keys -l "$1"; tmux -S "$sock" send-keys Enter; }  # typed into the real terminal

echo "== command line: kubescratch env in another shell"
# v1.20's kubectl predates KUBECACHEDIR and writes its cache under $HOME: a home of the test's own, not root's.
home=$(mktemp -d)
out=$(HOME=$home bash -c 'eval "$('"$ks"' env)"; kubectl get node "$NODE_NAME" -o name; ctr tasks ls -q | head -1 | grep -c . ; command -v kubectl')
rm -rf "$home"
grep -qx "node/$NODE_NAME" <<<"$out" || { echo "command line: after eval of kubescratch env, kubectl does not see the node:"; echo "$out"; exit 1; }
grep -qx "$BIN/kubectl" <<<"$out" || { echo "command line: kubescratch env does not put the cluster's kubectl first: $out"; exit 1; }
echo "  ok: eval \"\$(kubescratch env)\": kubectl sees node/$NODE_NAME, ctr lists tasks, kubectl is $BIN/kubectl"

tmux -S "$sock" new-session -d -x 120 -y 40 -e LANG=C.UTF-8 -e TERM=screen-256color -e KUBESCRATCH_BIN_DIR="$BIN" -e SHELL=/bin/bash \
  "bash -c '$ks --offline; echo EXITED \$?; sleep 600'"
wait_for "Stage 6" 60

type_line "kubectl get nodes"
wait_for "$ kubectl get nodes" 10
wait_for "── exit 0" 20
screen | grep -E "^│ $NODE_NAME +Ready" >/dev/null || { echo "command line: the node is not in the output pane:"; screen; exit 1; }
echo "  ok: :kubectl get nodes shows $NODE_NAME Ready in the output pane"

type_line "kubectl get pods -w"
wait_for "── running" 10
wait_for "web-" 20
t0=$(now_ms)
tmux -S "$sock" send-keys C-c
# kubectl catches SIGINT and ends a watch with its own status (1); what matters is that it ended, at once.
wait_for "── exit " 2
elapsed=$(( $(now_ms) - t0 ))
[ "$elapsed" -le 1000 ] || { echo "command line: Ctrl-C stopped kubectl get pods -w after $elapsed ms, more than 1 s"; exit 1; }
sleep 0.5
screen | grep -q EXITED && { echo "command line: Ctrl-C quit the tutorial instead of stopping the command"; screen; exit 1; }
wait_for "stage 6/6" 2
echo "  ok: Ctrl-C stopped kubectl get pods -w in $elapsed ms; the tutorial kept running"

tmux -S "$sock" send-keys '!'
wait_for "exit to return to kubescratch" 10
enter_line 'echo "inside: $KUBECONFIG"'
wait_for "inside: /var/lib/kubescratch/kubeconfigs/admin.kubeconfig" 10
enter_line 'exit 7'
wait_for "! (your shell)" 10
wait_for "── exit 7" 5
wait_for "stage 6/6" 5
echo "  ok: ! opened a shell with the tutorial's environment; exit brought the same screen back"

type_line "kubectl exec -it pinned-pod -- sh"
wait_for "when it ends you are back in the tutorial" 10
sleep 1
enter_line 'echo "in the pod: $(hostname)"'
wait_for "in the pod: pinned-pod" 15
enter_line 'exit'
wait_for "── exit 0" 10
wait_for "stage 6/6" 5
echo "  ok: :kubectl exec -it pinned-pod -- sh got the terminal (a shell in the pod) and gave it back on exit"

# The step just finished (the end of stage 5) suggests commands under the steps' output (Escape goes back to it):
# t puts the first on the prompt.
tmux -S "$sock" send-keys Escape
wait_for "try (t): " 5
first=$(python3 -c '
import re, sys
text = open("lessons/5-kube-proxy.md").read().split("## Break it")[0]
lists = re.findall(r"^try:\n((?:  - .*\n)+)", text, re.M)
print(lists[-1].splitlines()[0][4:].strip("\x27\x22") if lists else "")')
[ -n "$first" ] || { echo "command line: lesson 5 has no try: list"; exit 1; }
tmux -S "$sock" send-keys t
wait_for ":$first" 5
tmux -S "$sock" send-keys Enter
wait_for "$ ${first:0:24}" 5  # the pane's title, cut to its width
wait_for "── exit 0" 20
echo "  ok: t put the lesson's suggestion '$first' on the prompt and Enter ran it"

# The API calls (issue 19): at 200x60 the pane sits under the diagram. Tab to the scheduler filters it to its calls.
tmux -S "$sock" resize-window -x 200 -y 60
wait_for "API calls (who → API server" 10
for _ in $(seq 1 12); do
  screen | grep -q "API calls of kube-scheduler" && break
  tmux -S "$sock" send-keys Tab; sleep 0.2
done
wait_for "API calls of kube-scheduler" 2
kc() { KUBECONFIG=$KUBESCRATCH_STATE_DIR/kubeconfigs/admin.kubeconfig HOME=$KUBESCRATCH_STATE_DIR/kubectl-home "$BIN/kubectl" "$@"; }
kc run ks-traffic --image=localhost/kubescratch-web:1.0 --image-pull-policy=IfNotPresent --restart=Never >/dev/null
wait_for "create pods/binding default/ks-traffic" 10
kc delete pod ks-traffic --grace-period=0 --force >/dev/null 2>&1
echo "  ok: the API calls pane, filtered to the scheduler with Tab, shows the Binding it wrote for a new pod"
tmux -S "$sock" send-keys Escape
wait_for "API calls (who → API server" 5
# How soon a call is on the screen: kubectl create (as another terminal would), then the pane's line; ten times.
delays=()
for i in $(seq 1 10); do
  kc create configmap "ks-latency-$i" >/dev/null
  answered=$(now_ms)
  wait_for "create configmaps default/ks-latency-$i " 5
  delays+=($(( $(now_ms) - answered )))
done
kc delete configmap $(printf 'ks-latency-%s ' $(seq 1 10)) >/dev/null
median=$(printf '%s\n' "${delays[@]}" | sort -n | sed -n 5,6p | awk '{s += $1} END {print int(s / 2)}')
echo "  ok: a call is on the screen a median of ${median} ms after kubectl had its answer (10 creates: ${delays[*]} ms)"
[ "$median" -le 1000 ] || { echo "command line: the median delay ${median} ms is over a second"; exit 1; }

# The packet trace (issue 20): P follows one request to the NodePort; the diagram draws its path (the line under the
# node, the iptables box, the pod that answered) and the output pane the rules it matched; the next key takes it away.
tmux -S "$sock" send-keys Escape
tmux -S "$sock" send-keys P
wait_for "packet: you ──► $NODE_IP:30080 ──► " 10
wait_for "◀ packet" 2
wait_for "▸ SEP-" 2
wait_for "trace: one packet" 2
wait_for "KUBE-SVC-" 2
drawn=$(screen | grep -o "packet: you ──► .*" | head -1)
pod=$(screen | grep -o "web-[a-z0-9-]* Running [0-9.]* ◀ packet" | awk '{print $1}' | head -1)
[ -n "$pod" ] || { echo "command line: no pod is marked with the packet:"; screen; exit 1; }
grep -q "$pod on $NODE_NAME" <<<"$drawn" || { echo "command line: the path names another pod than the one marked ($pod): $drawn"; exit 1; }
tmux -S "$sock" send-keys Escape
sleep 0.5
screen | grep -q "◀ packet" && { echo "command line: the packet is still drawn after the next key"; screen; exit 1; }
echo "  ok: P drew one packet's path to $pod (${drawn:0:100}…); the next key took it away"

tmux -S "$sock" send-keys q
wait_for "EXITED 0" 10
echo "  ok: q quits as before"
