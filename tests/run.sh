#!/usr/bin/env bash
# Runs every Rampart test: installs what the tests need on a fresh Debian or
# Ubuntu machine (as root, through apt), then runs the Cargo test suite.
#
#   tests/run.sh                 # everything
#   tests/run.sh --test declarative   # extra arguments go to cargo test
set -euo pipefail
cd "$(dirname "$0")/.."

# Tools the integration tests drive for real: systemctl --root, dpkg-query,
# setsid, awk, stat. A fresh Debian image has them; minimal images may not.
need=()
for tool in systemctl:systemd dpkg-query:dpkg setsid:util-linux awk:mawk stat:coreutils; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: missing packages: ${need[*]} (install them, or run as root on Debian/Ubuntu)" >&2
    exit 1
  fi
  echo "tests/run.sh: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

exec cargo test --workspace --locked "$@"
