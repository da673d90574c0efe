#!/usr/bin/env bash
# Rampart benchmark: times the release binary against reference processes on
# this machine, in one run, and prints a table a release note can quote.
#
#   rampart inventory           vs  dpkg-query -W (or rpm -qa)
#   rampart check BASELINE      vs  true (a bare process spawn) and dpkg-query -W
#   peak RSS of one `rampart check` (and of the reference, for scale)
#
# Timing uses hyperfine when present (installed with apt-get when missing and
# running as root); otherwise a bash loop over $EPOCHREALTIME (or date +%s%N).
# Every command runs for a few seconds after warm-up, with stdout discarded.
#
# Usage: tests/bench/bench.sh
# Environment:
#   RAMPART_BENCH_DOC   document for `rampart check`
#                       (default: documents/Rampart-LinuxBaseline.yml)
#   RAMPART_BENCH_SECS  seconds per command in the fallback loop (default: 3)
#   RAMPART_BENCH_TOOL  "loop" to use the bash loop even when hyperfine exists
#   RAMPART_BENCH_BIN   binary to measure, e.g. the static musl build
#                       (default: target/release/rampart, built first)
#
# Exit codes: 0 measured; 2 a prerequisite is missing (document, reference tool).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
doc=${RAMPART_BENCH_DOC:-documents/Rampart-LinuxBaseline.yml}
secs=${RAMPART_BENCH_SECS:-3}
bin=${RAMPART_BENCH_BIN:-$repo/target/release/rampart}

die() {
    echo "bench: $*" >&2
    exit 2
}

# Off EC2 the identity comes from /etc/machine-id; on EC2 this keeps the
# metadata service out of the figures.
export AWS_EC2_METADATA_DISABLED=true
unset RAMPART_LOG

# --- Prerequisites --------------------------------------------------------

[[ -s $doc ]] || die "document '$doc' is missing or empty (set RAMPART_BENCH_DOC)"
if command -v dpkg-query >/dev/null; then
    ref_name="dpkg-query -W"
    ref_cmd=(dpkg-query -W)
elif command -v rpm >/dev/null; then
    ref_name="rpm -qa"
    ref_cmd=(rpm -qa)
else
    die "no reference package tool (dpkg-query or rpm) on this host"
fi
true_bin=$(type -P true) || die "no 'true' executable in PATH"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
state=$tmp/state

# --- Build ----------------------------------------------------------------

if [ -z "${RAMPART_BENCH_BIN:-}" ]; then
    echo "bench: building the release binary (cargo build --release)" >&2
    cargo build --release >&2
fi
[ -x "$bin" ] || die "no executable at $bin"
"$bin" validate "$doc" >/dev/null || die "document '$doc' does not validate"

# --- Timing ---------------------------------------------------------------

use_hyperfine=true
[[ ${RAMPART_BENCH_TOOL:-} == loop ]] && use_hyperfine=false
if $use_hyperfine && ! command -v hyperfine >/dev/null && [[ $(id -u) -eq 0 ]] \
    && command -v apt-get >/dev/null; then
    echo "bench: installing hyperfine" >&2
    apt-get install -y hyperfine >&2 || echo "bench: apt-get failed; using the bash loop" >&2
fi

# Display names and commands (shell-quoted, as hyperfine -N splits them).
# Results go to $tmp/results as "name<TAB>mean_ms<TAB>stddev_ms".
names=(
    "true (process spawn)"
    "$ref_name"
    "rampart inventory"
    "rampart check $(basename "$doc")"
)
cmds=(
    "$true_bin"
    "${ref_cmd[*]}"
    "$(printf '%q' "$bin") inventory"
    "$(printf '%q ' "$bin" check "$doc" --state-dir "$state")"
)

if $use_hyperfine && command -v hyperfine >/dev/null; then
    method="hyperfine $(hyperfine --version | awk '{print $2}'), 3 warm-ups, >=10 runs and >=3 s each, no shell"
    args=()
    for i in "${!names[@]}"; do
        args+=(-n "${names[$i]}" "${cmds[$i]}")
    done
    # -N: no intermediate shell, so `true` really is one process spawn.
    # -i: `rampart check` exits 1 when the host is not compliant.
    hyperfine -N -i --warmup 3 --style basic --export-csv "$tmp/h.csv" \
        "${args[@]}" >"$tmp/hyperfine.log" 2>&1 \
        || { cat "$tmp/hyperfine.log" >&2; die "hyperfine failed"; }
    # Keep hyperfine's own caveats (outliers, a busy machine) visible.
    grep -A1 '^ *Warning' "$tmp/hyperfine.log" >&2 || true
    awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
        { printf "%s\t%.3f\t%.3f\n", $col["command"], $col["mean"] * 1000, $col["stddev"] * 1000 }' \
        "$tmp/h.csv" >"$tmp/results"
else
    # Sets $now to nanoseconds without forking when bash has EPOCHREALTIME.
    clock() {
        if [[ -n ${EPOCHREALTIME:-} ]]; then
            now=${EPOCHREALTIME//[!0-9]/}000
        else
            now=$(date +%s%N)
        fi
    }
    method="bash loop ($([[ -n ${EPOCHREALTIME:-} ]] && echo EPOCHREALTIME || echo 'date +%s%N')), 3 warm-ups, >=10 runs and >=${secs} s each"
    : >"$tmp/results"
    for i in "${!names[@]}"; do
        eval "words=(${cmds[$i]})"
        for _ in 1 2 3; do "${words[@]}" >/dev/null 2>&1 || true; done
        runs=0 sum=0 sumsq=0
        clock
        start=$now
        while :; do
            clock
            t0=$now
            "${words[@]}" >/dev/null 2>&1 || true
            clock
            d=$((now - t0))
            runs=$((runs + 1)) sum=$((sum + d)) sumsq=$((sumsq + d / 1000 * (d / 1000)))
            ((runs >= 10 && now - start >= secs * 1000000000)) && break
            ((runs >= 5000)) && break
        done
        awk -v n="${names[$i]}" -v r="$runs" -v s="$sum" -v q="$sumsq" 'BEGIN {
            mean = s / r / 1e6; var = q / r / 1e6 - mean * mean
            printf "%s\t%.3f\t%.3f\n", n, mean, (var > 0 ? sqrt(var) : 0) }' >>"$tmp/results"
    done
fi

# --- Peak memory ----------------------------------------------------------

# Prints the peak RSS in MiB of one run of the given command, or "n/a".
peak_rss() {
    if [[ ! -x /usr/bin/time ]]; then
        echo "n/a (install the 'time' package)"
        return
    fi
    /usr/bin/time -v "$@" >/dev/null 2>"$tmp/time.txt" || true
    awk -F: '/Maximum resident set size/ { printf "%.1f MiB\n", $2 / 1024; found = 1 }
        END { if (!found) print "n/a" }' "$tmp/time.txt"
}
rss_check=$(peak_rss "$bin" check "$doc" --state-dir "$state")
rss_inventory=$(peak_rss "$bin" inventory)
rss_ref=$(peak_rss "${ref_cmd[@]}")
"$bin" check "$doc" --state-dir "$state" >/dev/null 2>&1 && check_rc=0 || check_rc=$?

# --- Report ---------------------------------------------------------------

mean() { awk -F'\t' -v n="$1" '$1 == n { print $2 }' "$tmp/results"; }
ratio() { awk -v a="$(mean "$1")" -v b="$(mean "$2")" 'BEGIN { printf "%.2fx", a / b }'; }
packages=$("${ref_cmd[@]}" 2>/dev/null | wc -l)
check_name=${names[3]}

echo
echo "Rampart benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "host: $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}"), kernel $(uname -r)," \
    "$(nproc --all) CPUs, $packages packages; rampart $("$bin" --version | awk '{print $2}')"
echo "method: $method"
echo
printf '%-44s %10s %9s\n' "command" "mean ms" "± sd ms"
while IFS=$'\t' read -r name m sd; do
    printf '%-44s %10.2f %9.2f\n' "$name" "$m" "$sd"
done <"$tmp/results"
echo
echo "ratios (lower is faster)"
printf '  %-42s %10s\n' "rampart inventory / $ref_name" "$(ratio "rampart inventory" "$ref_name")"
printf '  %-42s %10s\n' "rampart check / true" "$(ratio "$check_name" "true (process spawn)")"
printf '  %-42s %10s\n' "rampart check / $ref_name" "$(ratio "$check_name" "$ref_name")"
echo
echo "peak RSS (/usr/bin/time -v, one run)"
printf '  %-42s %10s\n' "$check_name" "$rss_check"
printf '  %-42s %10s\n' "rampart inventory" "$rss_inventory"
printf '  %-42s %10s\n' "$ref_name" "$rss_ref"
echo
echo "notes: rampart check exited $check_rc (1 = findings on this host; the run is complete either way);"
echo "       rampart inventory also collects host facts and network interfaces, $ref_name only packages."
