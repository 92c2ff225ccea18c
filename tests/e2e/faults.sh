#!/usr/bin/env bash
# The fault lane: real kills and interrupts while a stage runs, on one node walked from empty to stage 4, and a kill
# while a replay restores a kept stage end.
# For each case: the message names the component (or says "interrupted"), how long kubescratch took to notice,
# and that the next plain `run` reaches the end of the stage without `reset`. Every wait is bounded.
# Needs: $BIN, $KUBESCRATCH_STATE_DIR, the debug build (run from tests/e2e/run.sh).
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ks=("$PWD/.build/debug/kubescratch")
: "${BIN:?BIN must name the Kubernetes binaries folder}"
work=$(mktemp -d /tmp/kubescratch-faults.XXXXXX)
holders=()
trap 'for p in "${holders[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
results=()
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
fmt() { printf '%d.%02d s' $(( $1 / 1000 )) $(( $1 % 1000 / 10 )); }
fail() { echo "faults: $*"; echo "--- kubescratch said:"; cat "$work/run.out" 2>/dev/null | tail -30; exit 1; }

start_run() {  # start_run N: `run --through N` in the background, output in $work/run.out
  : >"$work/run.out"
  # --foreground: timeout passes a signal to kubescratch alone (not once more to its whole group, as a second Ctrl-C).
  timeout --foreground 300 "${ks[@]}" run --through "$1" --plain --yes --offline --bin-dir "$BIN" >"$work/run.out" 2>&1 &
  run_pid=$!
}
wait_line() {  # wait_line PATTERN: until the running command prints PATTERN (60 s at most)
  local deadline=$(( $(date +%s) + 60 ))
  until grep -qF -- "$1" "$work/run.out"; do
    kill -0 "$run_pid" 2>/dev/null || fail "the run ended before printing '$1'"
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for '$1'"
    sleep 0.05
  done
}
wait_exit() {  # wait_exit: until the background run exits (10 s at most); sets status and elapsed_ms since $t0
  local deadline=$(( $(now_ms) + 10000 ))
  while kill -0 "$run_pid" 2>/dev/null; do
    [ "$(now_ms)" -lt "$deadline" ] || fail "kubescratch was still running 10 s after the fault"
    sleep 0.02
  done
  elapsed_ms=$(( $(now_ms) - t0 ))
  set +e; wait "$run_pid"; status=$?; set -e
}
# The supervisor's own record, read at once (`status` probes every component first and takes longer than a step).
pid_of() { python3 -c "import json; print(json.load(open('$KUBESCRATCH_STATE_DIR/run/components/$1.json'))['pid'])"; }
recover() {  # recover N CASE: the next plain run reaches the end of stage N without reset
  local start=$(now_ms)
  timeout 300 "${ks[@]}" run --through "$1" --plain --yes --offline --bin-dir "$BIN" >"$work/recover.out" 2>&1 \
    || { cat "$work/recover.out" | tail -40; fail "$2: the next run did not finish stage $1"; }
  grep -q "stage $1 done in" "$work/recover.out" || fail "$2: the next run did not say stage $1 is done"
  python3 tests/e2e/assert_stage.py "$1" >/dev/null || fail "$2: the node is not right after the recovery"
  recovery_ms=$(( $(now_ms) - start ))
}
# A case followed by "then" leaves its recovery to the next case, whose run must first go on from it.
finish_case() {  # finish_case CASE STAGE NEXT WORD: the recovery (unless NEXT is "then"), and the case's line of results
  local name=$1 stage=$2 next=$3 word=$4
  if [ "$next" = then ]; then
    results+=("$name: $word in $(fmt "$elapsed_ms"); the next case's run goes on from there")
  else
    recover "$stage" "$name"
    results+=("$name: $word in $(fmt "$elapsed_ms"); the next run finished stage $stage in $(fmt "$recovery_ms")")
  fi
  echo "  ok: $name"
}
kill_during() {  # kill_during CASE STAGE LINE COMPONENT [then]: kill -9 COMPONENT once LINE shows, expect the crash named
  local name=$1 stage=$2 line=$3 component=$4 next=${5:-}
  start_run "$stage"
  wait_line "$line"
  local pid; pid=$(pid_of "$component")
  t0=$(now_ms); kill -9 "$pid"
  wait_exit
  [ "$status" = 1 ] || fail "$name: exit status $status, expected 1"
  # The signal is known when this run started the component (it is our child); one started by an earlier run
  # was adopted by another process, which got its exit status.
  grep -qE "$component (killed by signal 9 \(SIGKILL\)|exited \(started by an earlier kubescratch[^)]*\)) during step [0-9]+ of stage $stage" "$work/run.out" \
    || fail "$name: the message does not say '$component killed by signal 9 (SIGKILL) during step … of stage $stage' (or exited, if an earlier run started it)"
  grep -q "Last lines of .*$component.log" "$work/run.out" || fail "$name: no log lines of $component"
  [ "$elapsed_ms" -le 2000 ] || fail "$name: noticed after $(fmt "$elapsed_ms"), more than 2 s"
  finish_case "$name" "$stage" "$next" noticed
}
interrupt_during() {  # interrupt_during CASE STAGE LINE [then]: SIGINT once LINE shows, expect exit 130 within 1 s
  local name=$1 stage=$2 line=$3 next=${4:-}
  start_run "$stage"
  wait_line "$line"
  sleep 0.3
  t0=$(now_ms); kill -INT "$(pgrep -P "$run_pid")"
  wait_exit
  [ "$status" = 130 ] || fail "$name: exit status $status, expected 130"
  grep -qF "interrupted during '$line'" "$work/run.out" || fail "$name: the message does not say \"interrupted during '$line'\""
  [ "$elapsed_ms" -le 1000 ] || fail "$name: stopped after $(fmt "$elapsed_ms"), more than 1 s"
  finish_case "$name" "$stage" "$next" stopped
}
hold_ports() {  # hold_ports PORT...: something else listens on them
  for port in "$@"; do
    python3 -c "import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', $port)); s.listen(); time.sleep(300)" &
    holders+=($!)
  done
  sleep 0.5
}
ports_taken() {  # ports_taken CASE STAGE PORT...: the run refuses at once naming each port; freed, the next case goes on
  local name=$1 stage=$2
  shift 2
  hold_ports "$@"
  local start=$(now_ms)
  set +e; timeout 60 "${ks[@]}" run --through "$stage" --plain --yes --offline --bin-dir "$BIN" >"$work/run.out" 2>&1; status=$?; set -e
  elapsed_ms=$(( $(now_ms) - start ))
  [ "$status" = 1 ] || fail "$name: exit status $status with the ports taken, expected 1"
  for port in "$@"; do grep -q "port $port" "$work/run.out" || fail "$name: the message does not name port $port"; done
  grep -q "stage $stage" "$work/run.out" && grep -q "done in" "$work/run.out" && fail "$name: stage $stage ran with the ports taken"
  for p in "${holders[@]}"; do kill "$p" 2>/dev/null || true; done
  holders=()
  sleep 0.3
  results+=("$name: refused in $(fmt "$elapsed_ms"), naming the ports; freed, the next case's run goes on")
  echo "  ok: $name"
}

echo "== faults: from an empty node to the end of stage 4, a fault in every stage"
"${ks[@]}" reset >/dev/null
ports_taken "7a. port 10250 taken before stage 1" 1 10250
kill_during "4. kill -9 containerd during stage 1" 1 "Start the kubelet in standalone mode" containerd
ports_taken "7b. ports 2379 and 6443 taken before stage 2" 2 2379 6443
interrupt_during "5a. Ctrl-C during a health probe (stage 2)" 2 "Start kube-apiserver" then
kill_during "3. kill -9 the kubelet during stage 2's node registration" 2 "The node registers itself" kubelet
interrupt_during "5b. Ctrl-C during a check (stage 3)" 3 "Watch the stage 2 pod for 5 s" then
kill_during "1. kill -9 kube-apiserver during a stage-3 check" 3 "Watch the stage 2 pod for 5 s" kube-apiserver

echo "== faults: 9. a reboot at the end of stage 3: everything killed, mounts, cni0 and the chains gone; one run brings it back"
bash tests/e2e/reboot.sh
t0=$(now_ms)
timeout 300 "${ks[@]}" run --through 3 --plain --yes --offline --bin-dir "$BIN" >"$work/run.out" 2>&1 || fail "9: the run after the reboot failed"
elapsed_ms=$(( $(now_ms) - t0 ))
for component in containerd etcd kube-apiserver kubelet kube-scheduler; do
  grep -q "$component should be running after stage 3 but is not" "$work/run.out" || fail "9: the run did not start $component again"
done
grep -q "the node is back at the end of stage 3" "$work/run.out" || fail "9: the run did not say the node is back at the end of stage 3"
python3 tests/e2e/assert_stage.py 3 >/dev/null || fail "9: the node is not right after the recovery"
results+=("9. a reboot at the end of stage 3: one run brought the node back in $(fmt "$elapsed_ms")")
echo "  ok: 9. reboot at stage 3"
kill_during "2. kill -9 etcd during stage 4" 4 "Count the Deployment's ReplicaSets for 5 s" etcd then

echo "== faults: kill -9 of kubescratch itself mid-stage 4"
start_run 4
wait_line "Start kube-controller-manager"
# This run first went on from case 2: the dead etcd was started again before stage 4 was rewound.
grep -q "etcd should be running after stage 3 but is not" "$work/run.out" || fail "6: the run did not start etcd again first"
grep -q "stage 4 did not finish last time" "$work/run.out" || fail "6: the run did not rewind the unfinished stage 4"
kill -9 "$(pgrep -P "$run_pid")"  # kubescratch itself, not the timeout around it
set +e; wait "$run_pid"; set -e
# The killed run's lock went with it (the kernel releases a flock): the recovery run takes it, in the background
# this time, so that case 8 can start a second command beside it.
start=$(now_ms)
start_run 4
wait_line "Start kube-controller-manager"
first=$(pgrep -P "$run_pid")

echo "== faults: 8. two kubescratch at once: the second refuses at once, naming the first; the first goes on untouched"
for second in "run --through 4 --bin-dir $BIN" "break kube-scheduler --bin-dir $BIN" "reset" "tutorial --bin-dir $BIN"; do
  t0=$(now_ms)
  set +e; timeout 10 "${ks[@]}" $second </dev/null >"$work/second.out" 2>&1; second_status=$?; set -e
  elapsed_ms=$(( $(now_ms) - t0 ))
  [ "$second_status" != 0 ] || fail "8: a second \`${second%% --bin-dir*}\` succeeded while the first run held the node"
  grep -q "another kubescratch is changing this node (pid $first, \`kubescratch run --through 4" "$work/second.out" \
    || { cat "$work/second.out"; fail "8: the second \`${second%% --bin-dir*}\` did not name the first's PID $first and command"; }
  [ "$elapsed_ms" -le 1000 ] || fail "8: the second \`${second%% --bin-dir*}\` took $(fmt "$elapsed_ms") to refuse, more than 1 s"
  results+=("8. a second \`${second%% --bin-dir*}\` beside a running \`run\`: refused in $(fmt "$elapsed_ms"), naming pid $first")
done
deadline=$(( $(date +%s) + 180 ))
while kill -0 "$run_pid" 2>/dev/null; do [ "$(date +%s)" -lt "$deadline" ] || fail "8: the first run did not finish"; sleep 0.2; done
set +e; wait "$run_pid"; status=$?; set -e
[ "$status" = 0 ] || fail "8: the first run ended with status $status after the second command was refused"
grep -q "stage 4 done in" "$work/run.out" || fail "8: the first run did not finish stage 4"
python3 tests/e2e/assert_stage.py 4 >/dev/null || fail "8: the node is not right after the first run"
recovery_ms=$(( $(now_ms) - start ))
results+=("6. kill -9 kubescratch mid-stage 4: the next run finished stage 4 in $(fmt "$recovery_ms") (case 8 ran beside it)")
echo "  ok: 6. kill -9 kubescratch mid-stage 4"
echo "  ok: 8. two at once"

echo "== faults: 10. kill -9 kube-apiserver while a replay restores the kept end of stage 2 (issue 23)"
: >"$work/run.out"
timeout --foreground 300 "${ks[@]}" stage 3 --start-only --plain --offline --bin-dir "$BIN" >"$work/run.out" 2>&1 &
run_pid=$!
wait_line "restoring the end of stage 2"
record=$KUBESCRATCH_STATE_DIR/run/components/kube-apiserver.json
deadline=$(( $(now_ms) + 30000 ))
until [ -f "$record" ]; do [ "$(now_ms)" -lt "$deadline" ] || fail "10: the restore never started kube-apiserver"; sleep 0.02; done
t0=$(now_ms); kill -9 "$(pid_of kube-apiserver)"
deadline=$(( $(date +%s) + 180 ))
while kill -0 "$run_pid" 2>/dev/null; do [ "$(date +%s)" -lt "$deadline" ] || fail "10: the replay did not finish"; sleep 0.2; done
set +e; wait "$run_pid"; status=$?; set -e
elapsed_ms=$(( $(now_ms) - t0 ))
[ "$status" = 0 ] || fail "10: the replay ended with status $status"
grep -q "restoring the end of stage 2 failed" "$work/run.out" || fail "10: the replay did not say the restore failed"
grep -q "back at the start of stage 3" "$work/run.out" || fail "10: the replay did not reach the start of stage 3"
# Moving forward by the steps skips waiting for the node's Ready ("the node gets there by itself"): give it 30 s.
for _ in $(seq 60); do python3 tests/e2e/assert_stage.py 2 >/dev/null 2>&1 && break; sleep 0.5; done
python3 tests/e2e/assert_stage.py 2 >/dev/null || fail "10: the node is not at the end of stage 2"
results+=("10. kill -9 kube-apiserver during a restore: reset and ran the steps instead; at the start of stage 3 $(fmt "$elapsed_ms") after the kill")
echo "  ok: 10. a kill during a restore"

echo "== faults: results"
printf '  %s\n' "${results[@]}"
