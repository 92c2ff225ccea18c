#!/usr/bin/env bash
# Benchmark (not a test; issue 23): how fast the node moves between stages on this machine. Medians of 3 of:
# an empty node to the start of stage N (N = 2..6), stage 3 replayed from the start of stage 6, and reset from
# the end of stage 6 (node-2 included). Runs `run --through 5` first, which also keeps the stage ends the replays
# restore (they are keyed by this build, the binaries and the lessons). About 10 minutes.
# Usage: sudo scripts/bench-replay.sh   (KS=path/to/kubescratch, BIN=binaries; KUBESCRATCH_STATE_DIR as usual)
set -Eeuo pipefail
cd "$(dirname "$0")/.."
ks=${KS:-$PWD/.build/release/kubescratch}
[ -x "$ks" ] || ks=$PWD/.build/debug/kubescratch
BIN=${BIN:-$("$ks" setup | sed -n 's/^installed in \(.*\)\. Next:.*/\1/p' | tail -1)}
runs=${RUNS:-3}
log=/tmp/kubescratch-bench-replay.log
: > "$log"
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
back_at() { sed -n 's/.*back at the start of stage [0-9]* in \([0-9.]*\) s.*/\1/p' | tail -1; }
reset_took() { sed -n 's/^reset: done in \([0-9.]*\) s.*/\1/p' | tail -1; }

echo "bench-replay: $ks, binaries $BIN, $runs runs each"
"$ks" reset >>"$log"
start=$(date +%s.%N)
"$ks" run --through 5 --plain --yes --offline --steps-only --no-diagram --bin-dir "$BIN" >>"$log"
printf '%-44s %6.1f s (once; keeps the ends of stages 2-5)\n' "run --through 5" "$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')"

for n in 2 3 4 5 6; do
  times=()
  for _ in $(seq "$runs"); do
    "$ks" reset >>"$log"
    times+=("$("$ks" stage "$n" --start-only --plain --steps-only --bin-dir "$BIN" | tee -a "$log" | back_at)")
  done
  printf '%-44s %6s s   (%s)\n' "empty -> start of stage $n" "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
done

times=()
for _ in $(seq "$runs"); do
  "$ks" stage 6 --start-only --plain --steps-only --bin-dir "$BIN" >>"$log"
  times+=("$("$ks" stage 3 --start-only --plain --steps-only --bin-dir "$BIN" | tee -a "$log" | back_at)")
done
printf '%-44s %6s s   (%s)\n' "start of stage 6 -> start of stage 3" "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"

times=()
for _ in $(seq "$runs"); do
  "$ks" stage 6 --plain --yes --steps-only --bin-dir "$BIN" >>"$log"
  times+=("$("$ks" reset | tee -a "$log" | reset_took)")
done
printf '%-44s %6s s   (%s)\n' "reset from the end of stage 6 (node-2 too)" "$(printf '%s\n' "${times[@]}" | median)" "${times[*]}"
echo "bench-replay: the commands' output is in $log"
