#!/usr/bin/env bash
# Rampart upload benchmark: results to S3 against moto's server on loopback,
# each figure beside a reference measured in the same run.
#
#   50 MiB output      rampart apply --output s3://...   vs  boto3 upload_file
#                      (run + spool + multipart upload)      (same bytes, same
#                                                             8 MiB parts, one
#                                                             thread)
#   spool drain        rampart results upload            vs  boto3 put_object
#                      (1,000 results queued in an           of the same files,
#                       outage)                              one after another
#
# Wall time and peak RSS come from GNU time for both contenders. The
# references run in moto's own virtual environment (boto3 comes with moto),
# so both talk to the same server over the same loopback.
#
# Usage: tests/bench/upload.sh [--binary PATH] [--results N] [--repeat N]
#   --binary   rampart to measure (default: the first that exists of
#              target/x86_64-unknown-linux-musl/release/rampart,
#              target/release/rampart, target/debug/rampart); not built here
#   --results  results queued for the drain (default: 1000)
#   --repeat   runs of the 50 MiB case per contender; the median is
#              reported (default: 3)
# Environment: RAMPART_TEST_VENV  moto's virtual environment (default:
#              target/test-venv, which tests/run.sh creates)
#
# Exit codes: 0 measured; 1 a contender failed; 2 a prerequisite is missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

results=1000
repeat=3
bin=

die() {
    echo "upload-bench: $*" >&2
    exit 2
}

fail() {
    echo "upload-bench: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case "$1" in
    --binary) bin=$2; shift 2 ;;
    --results) results=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done

# shellcheck source=tests/bench/lib.sh
. "$repo/tests/bench/lib.sh"
bin=$(bench_binary "$bin")
venv=${RAMPART_TEST_VENV:-$repo/target/test-venv}
[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is missing: apt-get install time"
py=$venv/bin/python3

tmp=$(mktemp -d)
moto_pid=
cleanup() {
    [ -n "$moto_pid" ] && kill "$moto_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
start_moto "$venv" "$tmp/moto.log"

boto() { # boto <python body using s3 = client>
    "$py" -c "import boto3, sys
s3 = boto3.client('s3', endpoint_url='$endpoint')
$1" "${@:2}"
}
boto "s3.create_bucket(Bucket='big'); s3.create_bucket(Bucket='drain'); s3.create_bucket(Bucket='ref')"

# GNU time: elapsed seconds and peak RSS in KiB, one line per run.
timed() { # timed OUTFILE CMD...
    local out=$1
    shift
    /usr/bin/time -a -o "$out" -f '%e %M' "$@"
}

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

echo "upload-bench: $(uname -sr), $(nproc) CPUs, $bin ($(stat -c %s "$bin") bytes)"
echo "upload-bench: moto $("$venv/bin/pip" show moto 2>/dev/null | sed -n 's/^Version: //p'), boto3 $("$venv/bin/pip" show boto3 2>/dev/null | sed -n 's/^Version: //p')"

# --- 50 MiB ---------------------------------------------------------------

size=$((50 * 1024 * 1024))
mkdir -p "$tmp/root"
cat >"$tmp/big.yml" <<EOF
schemaVersion: '2.2'
mainSteps:
- action: aws:runShellScript
  name: big
  inputs: {runCommand: ['yes rampart-output-line | head -c $size']}
EOF
head -c "$size" < <(yes rampart-output-line) >"$tmp/big.bin"

for n in $(seq "$repeat"); do
    timed "$tmp/rampart-big" "$bin" apply "$tmp/big.yml" --root "$tmp/root" \
        --state-dir "$tmp/state-big" --output "s3://big/p$n" --output-limit 60000000 \
        >/dev/null 2>"$tmp/err" || fail "rampart apply (50 MiB): $(cat "$tmp/err")"
    ! grep -q "kept in the spool" "$tmp/err" || fail "the 50 MiB result was not uploaded: $(cat "$tmp/err")"
    timed "$tmp/ref-big" "$py" -c "import boto3
from boto3.s3.transfer import TransferConfig
cfg = TransferConfig(multipart_threshold=16*1024*1024, multipart_chunksize=8*1024*1024,
                     max_concurrency=1, use_threads=False)
boto3.client('s3', endpoint_url='$endpoint').upload_file('$tmp/big.bin', 'ref', 'big$n', Config=cfg)" \
        || fail "boto3 upload_file failed"
done
got=$(boto "print([o['Size'] for o in s3.list_objects_v2(Bucket='big', Prefix=sys.argv[1])['Contents']
       if o['Key'].endswith('big/stdout')][0])" "p$repeat/")
[ "$got" = "$size" ] || fail "uploaded stdout is $got bytes, not $size"

r_s=$(cut -d' ' -f1 "$tmp/rampart-big" | median)
r_kib=$(cut -d' ' -f2 "$tmp/rampart-big" | median)
b_s=$(cut -d' ' -f1 "$tmp/ref-big" | median)
b_kib=$(cut -d' ' -f2 "$tmp/ref-big" | median)
awk -v rs="$r_s" -v rk="$r_kib" -v bs="$b_s" -v bk="$b_kib" -v n="$repeat" 'BEGIN {
    printf "50 MiB output (median of %d)\n", n
    printf "  rampart apply + upload  %6.2f s  %6.1f MiB/s  peak RSS %6.1f MiB\n", rs, 50/rs, rk/1024
    printf "  boto3 upload_file       %6.2f s  %6.1f MiB/s  peak RSS %6.1f MiB\n", bs, 50/bs, bk/1024
    printf "  ratio rampart/boto3     time %.2f  RSS %.2f\n", rs/bs, rk/bk
}'

# --- Spool drain ----------------------------------------------------------

# An outage: the endpoint is a closed port, one attempt per call, so each run
# spools its result at once.
closed=$(free_port "$py")
printf '[aws]\nmax_attempts = 1\n' >"$tmp/one-attempt.toml"
cat >"$tmp/small.yml" <<'EOF'
schemaVersion: '2.2'
mainSteps:
- action: aws:runShellScript
  name: collect
  inputs: {runCommand: ['echo out-one', 'echo err-one >&2']}
- action: rampart:file
  name: motd
  inputs: {path: /etc/motd, content: "hi\n"}
EOF
echo "upload-bench: queueing $results results during an outage" >&2
for n in $(seq "$results"); do
    AWS_ENDPOINT_URL=http://127.0.0.1:$closed "$bin" apply "$tmp/small.yml" \
        --config "$tmp/one-attempt.toml" --root "$tmp/root" --state-dir "$tmp/state-drain" \
        --output s3://drain/p --command-id "cmd-$n" >/dev/null 2>&1 || true
done
queued=$(find "$tmp/state-drain/outbox" -mindepth 1 -maxdepth 1 -not -name '.*' | wc -l)
[ "$queued" -eq "$results" ] || fail "$queued results in the spool, expected $results"
files=$(find "$tmp/state-drain/outbox" -path '*/keys/*' -type f | wc -l)

# The reference sends the same files, one PutObject each, in one process.
find "$tmp/state-drain/outbox" -path '*/keys/*' -type f >"$tmp/files"
timed "$tmp/ref-drain" "$py" -c "import boto3, sys
s3 = boto3.client('s3', endpoint_url='$endpoint')
for i, line in enumerate(open('$tmp/files')):
    with open(line.rstrip('\n'), 'rb') as f:
        s3.put_object(Bucket='ref', Key='drain/%d' % i, Body=f.read(), ContentType='text/plain',
                      ACL='bucket-owner-full-control')" || fail "boto3 put_object loop failed"
timed "$tmp/rampart-drain" "$bin" results upload \
    --state-dir "$tmp/state-drain" >/dev/null 2>"$tmp/err" \
    || fail "rampart results upload: $(cat "$tmp/err")"
left=$(find "$tmp/state-drain/outbox" -mindepth 1 -maxdepth 1 -not -name '.*' | wc -l)
[ "$left" -eq 0 ] || fail "$left results left in the spool after the drain"
landed=$(boto "p = s3.get_paginator('list_objects_v2')
print(sum(len(page.get('Contents', [])) for page in p.paginate(Bucket='drain')))")
[ "$landed" -eq "$files" ] || fail "$landed objects in S3, $files files were spooled"

read -r r_s r_kib <"$tmp/rampart-drain"
read -r b_s b_kib <"$tmp/ref-drain"
awk -v rs="$r_s" -v rk="$r_kib" -v bs="$b_s" -v bk="$b_kib" -v n="$results" -v f="$files" 'BEGIN {
    printf "spool drain: %d results, %d objects\n", n, f
    printf "  rampart results upload  %6.2f s  %7.1f objects/s  peak RSS %6.1f MiB\n", rs, f/rs, rk/1024
    printf "  boto3 put_object loop   %6.2f s  %7.1f objects/s  peak RSS %6.1f MiB\n", bs, f/bs, bk/1024
    printf "  ratio rampart/boto3     time %.2f\n", rs/bs
}'
