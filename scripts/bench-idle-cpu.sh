#!/usr/bin/env bash
# Benchmark (not a test): CPU used by kubescratch while it only watches a stage-5 cluster — the full-screen
# tutorial (in tmux, 200x60) and `kubescratch diagram --watch`. Brings the node to the end of stage 5 first
# unless it is there. Usage: sudo scripts/bench-idle-cpu.sh [SECONDS]   (KS=path/to/kubescratch, BIN=binaries)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
ks=${KS:-$PWD/.build/release/kubescratch}
[ -x "$ks" ] || ks=$PWD/.build/debug/kubescratch
# The binaries setup installed (or built from Debian's source): `kubescratch setup` names the folder.
BIN=${BIN:-$("$ks" setup | sed -n 's/^installed in \(.*\)\. Next:.*/\1/p' | tail -1)}
hz=$(getconf CLK_TCK)
"$ks" run --through 5 --plain --yes --offline --bin-dir "$BIN" > /tmp/kubescratch-bench-run.log

cpu_of() {  # cpu_of PID SECONDS: percent of one core used by PID over SECONDS
  local a b
  a=$(awk '{print $14 + $15}' "/proc/$1/stat"); sleep "$2"; b=$(awk '{print $14 + $15}' "/proc/$1/stat")
  awk -v d=$((b - a)) -v hz="$hz" -v s="$2" 'BEGIN { printf "%.2f", 100 * d / hz / s }'
}

sock=$(mktemp -u /tmp/kubescratch-bench.XXXXXX)
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; [ -n "${watch_pid:-}" ] && kill "$watch_pid" 2>/dev/null || true' EXIT
tmux -S "$sock" new-session -d -x 200 -y 60 -e LANG=C.UTF-8 -e TERM=screen-256color -e KUBESCRATCH_BIN_DIR="$BIN" "$ks --offline"
for _ in $(seq 100); do tmux -S "$sock" capture-pane -p | grep -q "stage 6/6" && break; sleep 0.2; done
tmux -S "$sock" capture-pane -p | grep -q "stage 6/6" || { echo "bench: the tutorial did not open after stage 5:"; tmux -S "$sock" capture-pane -p; exit 1; }
sleep 3  # let the first watches settle
pid=$(pgrep -f "^$ks --offline" | head -1)
echo "tutorial screen (200x60), watching a stage-5 cluster: $(cpu_of "$pid" "$seconds") % of one core over $seconds s ($ks)"
tmux -S "$sock" send-keys q; sleep 0.5

"$ks" diagram --watch > /dev/null 2>&1 &
watch_pid=$!
sleep 3
echo "diagram --watch, same cluster: $(cpu_of "$watch_pid" "$seconds") % of one core over $seconds s"
