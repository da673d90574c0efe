#!/usr/bin/env bash
# Rampart Parameter Store benchmark: resolving {{ssm:}} references against
# moto's server on loopback, beside references measured in the same run.
#
#   rampart apply, 25 references     vs  the same document with the 25
#                                        values written in (no lookups)
#                                    vs  boto3: the same 25 names in
#                                        GetParameters calls of 10, timed
#                                        inside one Python process
#
# The difference between the first two is what resolution costs a run
# (GetParameters calls, SigV4, TLS-free HTTP on loopback); boto3 shows what
# the calls themselves cost from a warm client. Rampart's own call count is
# asserted by tests/secrets.rs (three calls of at most ten names).
#
# Usage: tests/bench/resolve.sh [--binary PATH] [--runs N]
#   --binary  rampart to measure (default: the first that exists of
#             target/x86_64-unknown-linux-musl/release/rampart,
#             target/release/rampart, target/debug/rampart); not built here
#   --runs    timed runs per contender (default: 20)
# Environment: RAMPART_TEST_VENV  moto's virtual environment (default:
#              target/test-venv, which tests/run.sh creates)
#
# Exit codes: 0 measured; 1 a contender failed; 2 a prerequisite is missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

runs=20
bin=
REFS=25

die() {
    echo "resolve-bench: $*" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case "$1" in
    --binary) bin=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
# shellcheck source=tests/bench/lib.sh
. "$repo/tests/bench/lib.sh"
bin=$(bench_binary "$bin")
venv=${RAMPART_TEST_VENV:-$repo/target/test-venv}
py=$venv/bin/python3

tmp=$(mktemp -d)
moto_pid=
cleanup() {
    [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
start_moto "$venv" "$tmp/moto.log"

# 25 parameters, and two documents that write the same file: one through
# references, one with the values in place.
"$py" -c "import boto3
ssm = boto3.client('ssm', endpoint_url='$endpoint')
for i in range($REFS):
    ssm.put_parameter(Name='/bench/p%02d' % i, Value='value-%02d' % i, Type='String')"
with_refs="" literal=""
for i in $(seq -f %02g 0 $((REFS - 1))); do
    with_refs+="{{ssm:/bench/p$i}} "
    literal+="value-$i "
done
for kind in refs literal; do
    content=$with_refs
    [ "$kind" = literal ] && content=$literal
    cat >"$tmp/$kind.yml" <<EOF
schemaVersion: '2.2'
mainSteps:
- action: rampart:file
  name: values
  inputs: {path: /etc/bench-values, content: "$content", mode: "0644"}
EOF
done
mkdir -p "$tmp/root/etc"
"$bin" apply "$tmp/refs.yml" --root "$tmp/root" --state-dir "$tmp/state" >/dev/null \
    || { echo "resolve-bench: rampart apply with references failed" >&2; exit 1; }
[ "$(cat "$tmp/root/etc/bench-values")" = "$literal" ] \
    || { echo "resolve-bench: the resolved file differs from the values" >&2; exit 1; }

# Mean wall time of `runs` runs, in ms, for a command (after 3 warm-ups).
mean_ms() {
    for _ in 1 2 3; do "$@" >/dev/null 2>&1; done
    local start end
    start=$(date +%s%N)
    for _ in $(seq "$runs"); do "$@" >/dev/null 2>&1; done
    end=$(date +%s%N)
    echo $(((end - start) / runs / 1000))
}
refs_us=$(mean_ms "$bin" apply "$tmp/refs.yml" --root "$tmp/root" --state-dir "$tmp/state")
literal_us=$(mean_ms "$bin" apply "$tmp/literal.yml" --root "$tmp/root" --state-dir "$tmp/state")
boto_us=$("$py" -c "import boto3, time
ssm = boto3.client('ssm', endpoint_url='$endpoint')
names = ['/bench/p%02d' % i for i in range($REFS)]
def once():
    for k in range(0, len(names), 10):
        ssm.get_parameters(Names=names[k:k + 10])
for _ in range(3): once()
t = time.perf_counter()
for _ in range($runs): once()
print(int((time.perf_counter() - t) / $runs * 1e6))")

echo "resolve-bench: $(uname -sr), $(nproc) CPUs, $bin, $runs runs each"
awk -v r="$refs_us" -v l="$literal_us" -v b="$boto_us" -v n="$REFS" 'BEGIN {
    printf "rampart apply, %d references          %8.2f ms\n", n, r / 1000
    printf "rampart apply, values written in        %8.2f ms\n", l / 1000
    printf "  resolution (difference)               %8.2f ms\n", (r - l) / 1000
    printf "boto3, 3 GetParameters calls (warm)     %8.2f ms\n", b / 1000
    printf "ratio resolution / boto3 calls          %8.2f\n", (r - l) / b
}'
