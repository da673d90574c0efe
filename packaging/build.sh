#!/usr/bin/env bash
# Builds the rampart .deb and .rpm (see docs/packaging.md).
#
#   packaging/build.sh                         # static musl release build, then both packages
#   packaging/build.sh --target x86_64-unknown-linux-gnu
#   packaging/build.sh --binary FILE           # package a binary built elsewhere (tests do)
#   packaging/build.sh --revision 2 --out DIR  # Debian revision / rpm release, output folder
#   packaging/build.sh --fast                  # lighter compression (tests)
#
# Needs cargo-deb and cargo-generate-rpm (cargo install cargo-deb
# cargo-generate-rpm --locked); the musl build needs the rustup target and
# Debian's musl-tools. Prints one line per package: path and size in bytes.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-musl
binary=""
out="$PWD/target/packages"
revision=1
fast=()
while [ $# -gt 0 ]; do
  case "$1" in
    --target) target="$2"; shift 2 ;;
    --binary) binary="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --revision) revision="$2"; shift 2 ;;
    --fast) fast=(--fast); shift ;;
    *) echo "packaging/build.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
case "$revision" in
  ''|*[!0-9]*) echo "packaging/build.sh: --revision must be a number" >&2; exit 2 ;;
esac

for tool in cargo-deb cargo-generate-rpm; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "packaging/build.sh: $tool is missing: cargo install cargo-deb cargo-generate-rpm --locked" >&2
    exit 1
  fi
done

# 1. The binary: the tuned release profile, unless one was given.
if [ -z "$binary" ]; then
  cargo build --release --locked -p rampart --target "$target"
  binary="target/$target/release/rampart"
fi
if [ ! -x "$binary" ]; then
  echo "packaging/build.sh: $binary is not an executable file" >&2
  exit 1
fi

# 2. A staging target directory that both tools read as their
#    "target/release/" (CARGO_TARGET_DIR, --target-dir), so they package
#    exactly this binary. Stripped here: cargo-generate-rpm does not strip.
mkdir -p "$out"
out="$(cd "$out" && pwd)"
stage="$(mktemp -d "$out/.stage.XXXXXX")"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/release"
cp "$binary" "$stage/release/rampart"
strip --strip-all "$stage/release/rampart"

# 3. Man pages and completions, from the CLI definition of this binary.
#    Man pages are gzipped here (-n: no name or time, so builds repeat).
assets="$stage/release/rampart-assets"
"$stage/release/rampart" generate-assets "$assets"
gzip -9n "$assets"/man/*.1

# 4. The packages.
CARGO_TARGET_DIR="$stage" cargo deb -p rampart --no-build --no-strip \
  --deb-revision "$revision" --output "$out" "${fast[@]}" >/dev/null
# xz, not the zstd default: rpm before 4.14 (Amazon Linux 2, RHEL 7) cannot
# read zstd payloads.
cargo generate-rpm -p agent --target-dir "$stage" --payload-compress xz \
  --set-metadata "release = \"$revision\"" --output "$out" >/dev/null

version="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n1)"
for f in "$out/rampart_${version}-${revision}_"*.deb "$out/rampart-${version}-${revision}."*.rpm; do
  echo "$f $(stat -c %s "$f")"
done
