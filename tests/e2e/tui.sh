#!/usr/bin/env bash
# The real terminal UI against the real components, through tmux (private socket, fixed sizes, polling, no
# fixed sleeps): read the first lesson, run stage 1 step by step, open a component's log, resize 120x40 → 80x24
# → 120x40, quit with q, start again and quit with Ctrl-C; each time the terminal must be restored.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
sock_base=$(mktemp -u /tmp/kubescratch-tui.XXXXXX)
sock="$sock_base.0"
runs=0
observer=
trap '[ -n "$observer" ] && kill "$observer" 2>/dev/null; for s in "$sock_base".*; do tmux -S "$s" kill-server 2>/dev/null || true; rm -f "$s"; done' EXIT
ks="$PWD/.build/debug/kubescratch"

screen() { tmux -S "$sock" capture-pane -p; }
wait_for() {  # wait_for PATTERN [SECONDS]: poll the screen until it shows PATTERN
  local deadline=$(( $(date +%s) + ${2:-30} ))
  until screen | grep -q -- "$1"; do
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "tui: timed out waiting for '$1'; the screen:"; screen; return 1; fi
    sleep 0.2
  done
}
start() {
  # A fresh server per run: reusing a socket right after kill-server races with the old server's exit
  # ("server exited unexpectedly").
  tmux -S "$sock" kill-server 2>/dev/null || true
  runs=$((runs + 1)); sock="$sock_base.$runs"
  tmux -S "$sock" new-session -d -x 120 -y 40 -e LANG=C.UTF-8 -e TERM=screen-256color -e KUBESCRATCH_BIN_DIR="$BIN" \
    "bash -c '$ks --offline; echo EXITED \$?; sleep 600'"
}

start
wait_for "Stage 1 — The kubelet alone" 60
stage1_steps=$(grep -c '^```step' <(sed '/^## Break it/,$d' lessons/1-kubelet.md))
stage2_steps=$(grep -c '^```step' <(sed '/^## Break it/,$d' lessons/2-apiserver.md))
wait_for "Step 1/$stage1_steps"
echo "  ok: the first lesson is on screen"
for step in $(seq 1 "$stage1_steps"); do
  if [ "$step" = 2 ]; then
    # Step 2's text holds the machine notes, folded at first: m unfolds them, m folds them again.
    wait_for "Machine notes hidden: m shows"
    tmux -S "$sock" send-keys m
    wait_for "CAP_SYS_RESOURCE"
    tmux -S "$sock" send-keys m
    wait_for "Machine notes hidden: m shows"
    echo "  ok: m unfolds and folds the machine notes"
  fi
  tmux -S "$sock" send-keys Enter
  if [ "$step" -lt "$stage1_steps" ]; then wait_for "step $((step + 1))/$stage1_steps" 120; else wait_for "End of stage 1" 120; fi
done
screen | grep -q "✓ containerd's view shown" || { echo "tui: the last step's result is not shown"; screen; exit 1; }
echo "  ok: stage 1 ran step by step from the screen"
wait_for "Press x to break it"
observed=$(mktemp /tmp/kubescratch-breakit1.XXXXXX)
python3 tests/e2e/observe_breakit.py watch 1 "$observed" & observer=$!
# Its first look is the "before": the section kills the container a moment after x.
for _ in $(seq 100); do [ -s "$observed" ] && break; sleep 0.05; done
tmux -S "$sock" send-keys x
wait_for "break-it section of stage 1 done" 180
sleep 1.5  # a few looks at the healed node
kill -TERM "$observer"; wait "$observer" || true
observer=
python3 tests/e2e/observe_breakit.py judge 1 "$observed"
rm -f "$observed"
echo "  ok: x ran stage 1's break-it section from the screen"
wait_for "containerd + runc" 10
tmux -S "$sock" send-keys Tab
tmux -S "$sock" send-keys l
wait_for "log of "
echo "  ok: a component's log opens"
tmux -S "$sock" resize-window -x 80 -y 24
wait_for "stage 1/6"
# 80x24 stacks lesson and output; the diagram is one key (d) away.
if screen | grep -q "node vm"; then echo "tui: expected the stacked layout at 80x24"; screen; exit 1; fi
# The one question left (r: replay the stage) is a dialog that names every answer, whole, at 80x24; Escape says no.
tmux -S "$sock" send-keys r
wait_for "n or Esc  stay where you are"
screen | grep -q "y         go to stage 1" || { echo "tui: the dialog does not name the yes answer at 80x24"; screen; exit 1; }
tmux -S "$sock" send-keys Escape
for i in $(seq 1 50); do screen | grep -q "n or Esc" || break; sleep 0.1; done
if screen | grep -q "n or Esc"; then echo "tui: Escape did not close the dialog"; screen; exit 1; fi
echo "  ok: the replay question is a dialog with every answer at 80x24, and Escape closes it"
tmux -S "$sock" resize-window -x 120 -y 40
wait_for "node vm"
echo "  ok: resized to 80x24 and back"
quit_at=$(date +%s%N)
tmux -S "$sock" send-keys q
wait_for "EXITED 0"
quit_ms=$(( ($(date +%s%N) - quit_at) / 1000000 ))
if screen | grep -q "┌ Output"; then echo "tui: the screen was not restored after q"; screen; exit 1; fi
screen | grep -q "The node keeps running" || { echo "tui: q did not say the node keeps running"; screen; exit 1; }
echo "  ok: one q quits in $quit_ms ms, keeps the node and restores the terminal"

start
wait_for "Stage 2 — The API server" 60
tmux -S "$sock" send-keys Enter
wait_for "step 2/$stage2_steps" 60
tmux -S "$sock" send-keys q
wait_for "EXITED 0"
echo "  ok: ran the first step of stage 2 and quit between steps with one q"

start
wait_for "step 2/$stage2_steps" 60
echo "  ok: started again where it was left: stage 2, step 2"
tmux -S "$sock" send-keys C-c
wait_for "EXITED"
if screen | grep -q "┌ Output"; then echo "tui: the screen was not restored after Ctrl-C"; screen; exit 1; fi
echo "  ok: Ctrl-C leaves the terminal restored"
