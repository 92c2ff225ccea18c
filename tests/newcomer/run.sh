#!/usr/bin/env bash
# The newcomer lane: the README's first command, exactly as written, on this clone; then the tutorial's first screen
# and stage 1 with the INSTALLED program and lessons (not .build/), then --uninstall leaves the prefix as it was.
# Where the release hosts cannot be reached (CI), setup falls back to Debian's source for real.
# A contributor's machine may already have kubescratch installed, a node at some stage, setup's cache and a tmux server:
# an install found here is saved first and put back at the end (same files, same version), the node is reset by the
# lane itself (it says so), the cache is used when present, and tmux runs on a socket of the lane's own.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
clone=$PWD
work=$(mktemp -d /tmp/kubescratch-newcomer.XXXXXX)
sock="$work/tmux.sock"
prefix=/usr/local
manifest="$prefix/share/kubescratch/install-manifest"
saved="$work/previous-install.tar"
restore_previous() {  # put back an install that was here before the lane, byte for byte
  [ -f "$saved" ] || return 0
  tar -C / -xpf "$saved"
  (cd / && sha256sum --quiet -c "$work/previous-install.sha256") || { echo "newcomer: the earlier install was not restored whole"; return 1; }
  echo "  ok: the kubescratch install that was here before the lane is back ($(wc -l <"$work/previous-install.sha256") files, binary sha256 $(sha256sum "$prefix/bin/kubescratch" | cut -c1-12))"
  rm -f "$saved"
}
# The lane's own user with sudo (the README's line as such a user types it): made here, removed at the end.
learner=ks-newcomer
remove_learner() {  # its processes first (userdel refuses a user who still runs something); then it must be gone
  rm -f "/etc/sudoers.d/$learner"
  id "$learner" >/dev/null 2>&1 || return 0
  pkill -KILL -u "$learner" 2>/dev/null || true
  for _ in $(seq 1 50); do userdel "$learner" 2>/dev/null && break; sleep 0.1; done
  ! id "$learner" >/dev/null 2>&1 || { echo "newcomer: could not remove the lane's user $learner"; return 1; }
}
trap 'status=$?; tmux -S "$sock" kill-server 2>/dev/null || true; remove_learner || status=1; restore_previous || status=1; rm -rf "$work"; exit $status' EXIT
seconds_since() { echo "$(( $(date +%s) - $1 )) s"; }
timings=()

# The first line of the README's first shell block, comment removed: "scripts/install.sh && kubescratch". It must work
# as written from a root shell without sudo (the first install below) and from a user with sudo (the tmux run).
first=$(awk '/^```sh/ {inside = 1; next} inside {print; exit}' README.md | sed 's/[[:space:]]*#.*$//')
install_part=${first%% && *}
tutorial_part=${first#* && }
[ "$install_part" = "scripts/install.sh" ] && [ "$tutorial_part" = "kubescratch" ] \
  || { echo "newcomer: the README's first command is '$first'; this lane knows 'scripts/install.sh && kubescratch'"; exit 1; }
echo "  the README's first command: $first"

snapshot() { find "$prefix" -xdev \( -type f -o -type l \) 2>/dev/null | grep -v "^$prefix/share/.kubescratch-install" | sort; }
if [ -f "$manifest" ]; then
  # Its manifest names every file it installed; they leave with --uninstall below and come back at the end.
  { cat "$manifest"; echo "$manifest"; } | while IFS= read -r file; do [ -e "$file" ] && echo "${file#/}"; done >"$work/previous-install.files"
  tar -C / -cpf "$saved" -T "$work/previous-install.files"
  (cd / && xargs -d '\n' sha256sum <"$work/previous-install.files") >"$work/previous-install.sha256"
  echo "  kubescratch is already installed here (binary sha256 $(sha256sum "$prefix/bin/kubescratch" | cut -c1-12), $(wc -l <"$work/previous-install.files") files): saved, and put back when the lane ends"
  snapshot | grep -vxF -f <(sed 's|^|/|' "$work/previous-install.files") >"$work/before" || true
else
  snapshot >"$work/before"
fi

had_policy=0; [ -e /usr/sbin/policy-rc.d ] && had_policy=1
# A root shell on a machine without sudo: PATH holds every program of /usr/bin but sudo (and no /bin, /usr/bin, which
# are the same folder on Debian 12).
mkdir -p "$work/no-sudo"
for program in /usr/bin/*; do case "${program##*/}" in sudo|sudoedit|sudoreplay) ;; *) ln -s "$program" "$work/no-sudo/";; esac; done
no_sudo_path="$work/no-sudo:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin"
! PATH=$no_sudo_path command -v sudo >/dev/null || { echo "newcomer: sudo is still in the PATH meant to have none"; exit 1; }
echo "== newcomer: $install_part (from the clone, as written, in a root shell without sudo)"
start=$(date +%s)
PATH=$no_sudo_path bash -c "$install_part" 2>&1 | tee "$work/install.out"
timings+=("first install (packages, release build, setup): $(seconds_since "$start")")
grep -q "installed /usr/local/bin/kubescratch" "$work/install.out" || { echo "newcomer: install.sh did not say it installed the program"; exit 1; }
if grep -q "cannot reach the release hosts" "$work/install.out"; then
  grep -q "building Kubernetes v1.20.2 from Debian 12's source package" "$work/install.out" \
    || { echo "newcomer: the release hosts are unreachable but setup did not fall back to Debian's source"; exit 1; }
  echo "  ok: the release hosts are unreachable here; setup fell back to Debian's source by itself"
fi
# Debian's containerd and etcd packages ship services: setup installs them for their programs only.
if grep -qE "installing .*(containerd|etcd)" "$work/install.out"; then
  grep -q "from starting during the install (policy-rc.d)" "$work/install.out" \
    || { echo "newcomer: setup installed packages with services but did not say it kept them from starting"; exit 1; }
  echo "  ok: setup kept the new packages' services from starting: $(grep -o "kept .* from starting[^:]*" "$work/install.out" | head -1)"
fi
if [ "$had_policy" = 0 ] && [ -e /usr/sbin/policy-rc.d ]; then echo "newcomer: setup left /usr/sbin/policy-rc.d behind"; exit 1; fi
[ "$(command -v kubescratch)" = /usr/local/bin/kubescratch ] || { echo "newcomer: kubescratch is not /usr/local/bin/kubescratch in PATH"; exit 1; }
for f in /usr/local/share/bash-completion/completions/kubescratch /usr/local/share/zsh/site-functions/_kubescratch \
         /usr/local/share/fish/vendor_completions.d/kubescratch.fish; do
  grep -q kubescratch "$f" || { echo "newcomer: no completion script in $f"; exit 1; }
done
bash -c 'source /usr/local/share/bash-completion/completions/kubescratch && complete -p kubescratch' >/dev/null \
  || { echo "newcomer: the bash completion does not load"; exit 1; }
(cd / && kubescratch lessons check) | tee "$work/lessons.out"
grep -q "^/usr/local/share/kubescratch/lessons:" "$work/lessons.out" || { echo "newcomer: the installed program did not find the installed lessons"; exit 1; }
echo "  ok: program, lessons, assets and completions installed; the program finds its lessons from any folder"

# A node left by earlier use (any stage) would make the tutorial resume there: the lane starts from an empty node.
echo "== newcomer: kubescratch reset (the lane starts from an empty node; one left by earlier use goes)"
kubescratch reset | tail -1

echo "== newcomer: the whole first command in a terminal, as a user with sudo: the install again (nothing changes), then the tutorial"
start=$(date +%s)
remove_learner
useradd --no-create-home --home-dir /nonexistent --shell /bin/bash "$learner"
echo "$learner ALL=(ALL) NOPASSWD: ALL" >"/etc/sudoers.d/$learner" && chmod 440 "/etc/sudoers.d/$learner"
runuser -u "$learner" -- test -r "$clone/scripts/install.sh" \
  || { echo "newcomer: the clone $clone cannot be read by another user, so this lane cannot run the README's line as one"; exit 1; }
# The program must see a terminal, so its output is recorded by tmux (pipe-pane), started before the command runs.
tmux -S "$sock" new-session -d -x 120 -y 40 -c "$clone" -e LANG=C.UTF-8 -e TERM=screen-256color \
  "runuser -u $learner -- bash -c 'sleep 1; $first; echo EXITED \$?; sleep 600'"
tmux -S "$sock" pipe-pane -o "cat >> $work/again.out"
screen() { tmux -S "$sock" capture-pane -p; }
deadline=$(( $(date +%s) + 300 ))
until screen | grep -q "Stage 1 — The kubelet alone"; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "newcomer: the tutorial's first screen did not appear; the screen:"; screen; cat "$work/again.out"; exit 1; }
  sleep 0.5
done
screen >"$work/first-screen.txt"
timings+=("install again + the tutorial's first screen: $(seconds_since "$start")")
grep -q "0 changed" "$work/again.out" || { echo "newcomer: the second install changed files:"; cat "$work/again.out"; exit 1; }
grep -q "install.sh: installing needs root .*: running it with sudo" "$work/again.out" \
  && grep -q "kubescratch tutorial needs root .*: running it with sudo" "$work/again.out" \
  || { echo "newcomer: as a user, install.sh and kubescratch did not say they ran themselves with sudo:"; cat "$work/again.out"; exit 1; }
echo "  ok: as the user $learner, install.sh and kubescratch each said they needed root and went on through sudo"
grep -q "Step 1/" "$work/first-screen.txt" || { echo "newcomer: no first step on the first screen"; cat "$work/first-screen.txt"; exit 1; }
echo "  ok: a second install changed nothing, and the tutorial's first screen shows stage 1, step 1:"
grep -m3 -E "Stage 1|Step 1/" "$work/first-screen.txt" | sed "s/^/    | /"
tmux -S "$sock" send-keys q
until screen | grep -q "EXITED"; do sleep 0.2; done
tmux -S "$sock" kill-server
remove_learner

echo "== newcomer: stage 1 in plain text with the installed program (the README's non-interactive form)"
start=$(date +%s)
(cd / && kubescratch run --through 1 --yes --plain --offline) | tee "$work/stage1.out"
grep -q "stage 1 done" "$work/stage1.out" || { echo "newcomer: stage 1 did not finish"; exit 1; }
timings+=("stage 1 with the installed program: $(seconds_since "$start")")
kubescratch reset >/dev/null

echo "== newcomer: scripts/install.sh --uninstall"
scripts/install.sh --uninstall
snapshot >"$work/after"
if ! diff -u "$work/before" "$work/after"; then echo "newcomer: --uninstall left files in $prefix (above)"; exit 1; fi
hash -r  # the lane ran kubescratch itself: bash remembers where it was
[ -z "$(command -v kubescratch || true)" ] || { echo "newcomer: kubescratch still in PATH after --uninstall"; exit 1; }
echo "  ok: $prefix is as it was before the install (less an install that was there before, which comes back now)"
restore_previous

echo "== newcomer: timings"
printf '  %s\n' "${timings[@]}"
grep -h "^==> done in\|ready in\|: done in" "$work/install.out" | sed 's/^/  (install) /'
echo "newcomer: PASS"
