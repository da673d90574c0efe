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
# Package tests (tests/packages.rs, tests/versions.rs): fake .debs built with
# dpkg-deb, a local apt repository indexed by dpkg-scanpackages, the rpm CLI,
# and C reference helpers linked against libdpkg and librpm.
# rpm enforcement through a frontend (tests/rpm_packages.rs) and the rpm
# patch baseline (tests/rpm_patch_baseline.rs): dnf, zypper and a
# repository indexed by createrepo_c, with advisories added by modifyrepo_c.
for tool in dpkg-deb:dpkg dpkg-scanpackages:dpkg-dev apt-get:apt rpm:rpm cc:gcc pkg-config:pkg-config dnf:dnf zypper:zypper createrepo_c:createrepo-c modifyrepo_c:createrepo-c; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
# Packaging tests (tests/packaging.rs): lintian, readelf, systemd-analyze and
# deb-systemd-helper (run by the .deb's maintainer scripts in a dpkg --root).
# TLS test (tests/tls.rs): a throw-away CA made with openssl. Upload test
# (tests/upload.rs): GNU time for a peak RSS ('time' alone is the shell's).
command -v openssl >/dev/null 2>&1 || need+=(openssl)
[ -x /usr/bin/time ] || need+=(time)
command -v setpriv >/dev/null 2>&1 || need+=(util-linux)
for tool in lintian:lintian readelf:binutils systemd-analyze:systemd deb-systemd-helper:init-system-helpers gzip:gzip strip:binutils; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool##*:}")
done
for lib in libdpkg:libdpkg-dev rpm:librpm-dev; do
  pkg-config --exists "${lib%%:*}" 2>/dev/null || need+=("${lib##*:}")
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

# cargo-deb and cargo-generate-rpm build the packages (packaging/build.sh);
# pinned so a new release cannot change what the tests inspect.
for tool in cargo-deb@3.8.0 cargo-generate-rpm@0.21.1; do
  if ! command -v "${tool%@*}" >/dev/null 2>&1; then
    echo "tests/run.sh: installing $tool" >&2
    cargo install --locked --quiet "$tool"
  fi
done

# moto's server speaks the real SSM, KMS and S3 protocols on loopback; the
# tests start it themselves from this virtual environment.
venv="${RAMPART_TEST_VENV:-$PWD/target/test-venv}"
if [ ! -x "$venv/bin/moto_server" ]; then
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
      python3 -m venv "$venv"
    else
      echo "tests/run.sh: python3 -m venv failed; install python3-venv" >&2
      exit 1
    fi
  fi
  echo "tests/run.sh: installing moto[server] into $venv" >&2
  "$venv/bin/pip" install -q --disable-pip-version-check "moto[server]>=5,<6"
fi
export MOTO_SERVER="$venv/bin/moto_server"

# --all-features turns on the crash points the kill -9 tests use.
exec cargo test --workspace --locked --all-features "$@"
