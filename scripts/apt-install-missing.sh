#!/usr/bin/env bash
# apt-install-missing.sh PACKAGE...: installs from apt those of the packages that are not installed yet.
# Shared by install.sh (a user's packages), install-host-packages.sh (the tests') and .ci/run (the harness').
set -euo pipefail
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "packages: all present ($*)"
  exit 0
fi
echo "packages: installing ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
