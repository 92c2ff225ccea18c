#!/usr/bin/env bash
# Installs kubescratch from this clone: the host packages it needs, a release build of the program, its lessons,
# assets and shell completions, then `kubescratch setup` to get the Kubernetes binaries. Run it again at any time:
# it changes only what changed. `--uninstall` removes what it installed (not the download cache, not the node).
set -Eeuo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/install.sh [--prefix DIR] [--no-setup] [--uninstall] [-- SETUP-OPTIONS...]

  --prefix DIR   install under DIR (default /usr/local): DIR/bin/kubescratch, DIR/share/kubescratch/{lessons,assets},
                 completions in DIR/share/{bash-completion/completions,zsh/site-functions,fish/vendor_completions.d}
  --no-setup     do not run `kubescratch setup` afterwards
  --uninstall    remove everything this script installed under the prefix. The node stays (`kubescratch reset`
                 removes it) and so does setup's cache (/root/.cache/kubescratch).
  -- ...         options for `kubescratch setup` (e.g. -- --mirror URL, -- --source debian); see `kubescratch setup --help`

Host packages come from apt on Debian and Ubuntu. Elsewhere, install by hand: a Swift 6.1+ toolchain (swift.org),
the ncurses development headers, iptables, iproute2, tar, a static busybox, conntrack and CA certificates.
EOF
}

prefix=/usr/local
run_setup=1
uninstall=0
setup_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) [ $# -ge 2 ] || { usage >&2; exit 2; }; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --no-setup) run_setup=0; shift ;;
    --uninstall) uninstall=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; setup_args=("$@"); break ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m==>\033[0m %s\n' "$*"; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
clock() { date +%s; }
took() { echo "$(( $(clock) - $1 )) s"; }

if [ "$(id -u)" != 0 ]; then
  # Written without sudo in the README, so it works as written from a root shell too: a user gets it through sudo.
  command -v sudo >/dev/null || die "run it as root (it installs packages and writes to $prefix): this user has no sudo; from a root shell (su -): scripts/install.sh"
  echo "install.sh: installing needs root (packages, $prefix): running it with sudo"
  exec sudo -- "$0" "$@"
fi
cd "$(dirname "$0")/.."
clone=$PWD
[ -f Package.swift ] && [ -d lessons ] && [ -d assets ] || die "run it from a kubescratch clone (no Package.swift, lessons/ or assets/ beside scripts/)"

share="$prefix/share/kubescratch"
manifest="$share/install-manifest"
completion_files=(
  "$prefix/share/bash-completion/completions/kubescratch"
  "$prefix/share/zsh/site-functions/_kubescratch"
  "$prefix/share/fish/vendor_completions.d/kubescratch.fish"
)

if [ "$uninstall" = 1 ]; then
  [ -f "$manifest" ] || die "nothing to uninstall under $prefix (no $manifest)"
  removed=0
  while IFS= read -r file; do
    case "$file" in "$prefix"/*) ;; *) continue ;; esac
    if [ -e "$file" ] || [ -L "$file" ]; then rm -f -- "$file"; removed=$((removed + 1)); fi
  done <"$manifest"
  rm -f "$manifest"
  # Folders we made and left empty (never a folder that still holds something else).
  find "$share" -depth -type d -empty -delete 2>/dev/null || true
  for dir in "$prefix/share/bash-completion/completions" "$prefix/share/bash-completion" "$prefix/share/zsh/site-functions" \
             "$prefix/share/zsh" "$prefix/share/fish/vendor_completions.d" "$prefix/share/fish"; do
    rmdir "$dir" 2>/dev/null || true
  done
  say "removed $removed files of kubescratch from $prefix"
  echo "    The node (if any) stays: \`kubescratch reset\` removes it; reinstall first if you need to."
  echo "    Setup's downloads and builds stay in /root/.cache/kubescratch: rm -rf it to free the space."
  exit 0
fi

total_start=$(clock)
timings=()

# 1. Host packages.
start=$(clock)
packages=(
  iptables iproute2 tar busybox-static conntrack kmod procps util-linux ca-certificates  # the node and its images (util-linux: nsenter, stage 6)
  libncurses-dev                                                              # the terminal UI's C shim (build)
)
if command -v apt-get >/dev/null && command -v dpkg-query >/dev/null; then
  bash scripts/apt-install-missing.sh "${packages[@]}"
else
  need=()
  for c in iptables ip tar busybox conntrack; do command -v "$c" >/dev/null || need+=("$c"); done
  [ -e /usr/include/ncurses.h ] || [ -e /usr/include/ncursesw/ncurses.h ] || need+=("ncurses headers")
  [ ${#need[@]} -eq 0 ] || die "this is not Debian or Ubuntu (no apt): install by hand: ${need[*]} (busybox must be a static build), then run this again"
  say "host packages: no apt here; the programs kubescratch needs are present"
fi
timings+=("host packages: $(took "$start")")

# 2. A release build.
start=$(clock)
swift_bin=$(command -v swift || true)
for candidate in /opt/swift/usr/bin/swift /usr/share/swift/usr/bin/swift /usr/local/swift/usr/bin/swift; do
  [ -n "$swift_bin" ] && break
  [ -x "$candidate" ] && swift_bin=$candidate
done
[ -n "$swift_bin" ] || die "no Swift toolchain found (PATH, /opt/swift): install Swift 6.1 or later from https://www.swift.org/install/linux/ and run this again"
swift_version=$("$swift_bin" --version 2>&1 | grep -o 'Swift version [0-9]*\.[0-9]*' | head -1 | awk '{print $3}')
case "$swift_version" in
  [6-9].*|[1-9][0-9].*) [ "${swift_version%%.*}" -gt 6 ] || [ "${swift_version#*.}" -ge 1 ] || die "Swift $swift_version is too old: kubescratch needs 6.1 or later" ;;
  *) die "Swift ${swift_version:-of unknown version} at $swift_bin is too old: kubescratch needs 6.1 or later" ;;
esac
# Built as the clone's owner when that is who ran sudo, so .build/ stays theirs.
owner=$(stat -c %U "$clone")
as_owner=()
if [ "$owner" != root ] && [ "${SUDO_USER:-}" = "$owner" ]; then as_owner=(sudo -u "$owner" -H); fi
say "building kubescratch (swift build -c release, Swift $swift_version; a few minutes the first time)"
# Always through a pipe: SwiftPM adds colour flags on a terminal, and a run on the other kind would rebuild everything.
"${as_owner[@]}" env PATH="$(dirname "$swift_bin"):$PATH" "$swift_bin" build -c release --product kubescratch 2>&1 | cat \
  || die "the build failed (above); fix it, or run \`swift build -c release\` in $clone to see it again"
built="$clone/.build/release/kubescratch"
[ -x "$built" ] || die "the build said it succeeded but left no $built"
timings+=("release build: $(took "$start")")

# 3. Install: everything is staged on the target's file system first, then moved over the old files one by one,
#    so a failure (a full disk) leaves the previous install whole.
start=$(clock)
mkdir -p "$prefix/bin" "$prefix/share"
staging=$(mktemp -d "$prefix/share/.kubescratch-install.XXXXXX")
trap 'rm -rf "$staging"' EXIT
mkdir -p "$staging/bin" "$staging/share/kubescratch" "$staging/share/bash-completion/completions" \
         "$staging/share/zsh/site-functions" "$staging/share/fish/vendor_completions.d"
cp "$built" "$staging/bin/kubescratch"
cp -R lessons assets "$staging/share/kubescratch/"
"$staging/bin/kubescratch" --generate-completion-script bash >"$staging/share/bash-completion/completions/kubescratch"
"$staging/bin/kubescratch" --generate-completion-script zsh >"$staging/share/zsh/site-functions/_kubescratch"
"$staging/bin/kubescratch" --generate-completion-script fish >"$staging/share/fish/vendor_completions.d/kubescratch.fish"
KUBESCRATCH_LESSONS="$staging/share/kubescratch/lessons" KUBESCRATCH_ASSETS="$staging/share/kubescratch/assets" \
  "$staging/bin/kubescratch" lessons check "$staging/share/kubescratch/lessons" >/dev/null \
  || die "the lessons do not pass \`kubescratch lessons check\`; nothing was installed"

changed=0 unchanged=0
new_manifest="$staging/install-manifest"
: >"$new_manifest"
while IFS= read -r -d '' file; do
  relative=${file#"$staging"/}
  [ "$relative" = install-manifest ] && continue
  target="$prefix/$relative"
  echo "$target" >>"$new_manifest"
  if [ -f "$target" ] && cmp -s "$file" "$target"; then unchanged=$((unchanged + 1)); continue; fi
  mkdir -p "$(dirname "$target")"
  chmod go+r "$file"
  mv -f "$file" "$target"
  changed=$((changed + 1))
done < <(find "$staging" -type f -print0 | sort -z)
chmod 755 "$prefix/bin/kubescratch"
# Files of an earlier install that this one no longer has (a lesson renamed or removed).
gone=0
if [ -f "$manifest" ]; then
  while IFS= read -r old; do
    grep -qxF "$old" "$new_manifest" && continue
    case "$old" in "$prefix"/*) rm -f -- "$old"; gone=$((gone + 1)) ;; esac
  done <"$manifest"
fi
mv -f "$new_manifest" "$manifest"
rm -rf "$staging"
trap - EXIT
say "installed $prefix/bin/kubescratch, $share and completions for bash, zsh and fish: $changed changed, $unchanged unchanged, $gone removed"
timings+=("install: $(took "$start")")

# 4. The Kubernetes binaries.
if [ "$run_setup" = 1 ]; then
  start=$(clock)
  say "kubescratch setup ${setup_args[*]}"
  "$prefix/bin/kubescratch" setup "${setup_args[@]}"
  timings+=("setup: $(took "$start")")
fi

say "done in $(took "$total_start") ($(IFS=';'; echo "${timings[*]}" | sed 's/;/, /g'))"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "    note: $prefix/bin is not in your PATH" ;; esac
echo "    Next: kubescratch   (the full-screen tutorial; \`kubescratch run\` for plain text)"
