#!/usr/bin/env bash
# Rampart agent benchmark: how fast `rampart agent` repairs drift and what it
# costs while idle, against reference processes measured in the same run.
#
#   drift-repair latency   rampart agent      vs  inotifywait -m | bash loop
#                          (chmod and rewrite)     (stat, chmod, cmp, cp, mv)
#   idle memory            rampart agent      vs  sleep infinity, rampart --version
#   idle CPU               rampart agent over --idle-secs quiet seconds
#
# Setup: 10 apply-mode drop-in associations, each a document of 10
# `rampart:file` steps (owner root, group root, mode 0600, exact content),
# so 100 watched files in 10 folders, all under a temporary --root. The agent
# creates them on its first runs; nothing touches the real /etc.
#
# Latency: for each change, a probe (Python, inotify through ctypes) takes the
# time just before the change, makes it, and waits until the file is back in
# the enforced state (mode 0600, owner 0:0, exact content), re-checking on
# every inotify event on the file's folder and every 20 ms in case an event is
# missed. Changes alternate, per file and overall, between chmod 0644 and a
# rewrite of the content in place (open O_TRUNC, write, close). A change not
# repaired within --timeout seconds counts as missed; the probe then restores
# the file itself so the next change is a real one. The reference repair loop
# gets the same changes, in the same order, at the same pace, and the same
# probe measures it.
#
# The fight guard (agent/src/daemon/drift.rs: FIGHT_REPAIRS = 5 in
# FIGHT_WINDOW = 60 s, per association step; no config knob) pauses a step
# for at least 60 s on its 5th repair whose times span at most 60 s. A
# benchmark that hammers one file measures the pause, not the repair, so the
# changes go round-robin over the 100 files (consecutive changes hit different
# associations) and are paced so that any one file is changed at most
# SAFE_REPAIRS (3) times in 61 s: one change every 61 s / 3 / 100 = 204 ms.
# Each change costs one repair that changes something; the agent's own
# re-check after its write changes nothing and is not counted by the guard.
# A `drift_fight` line in the agent's log would show the guard fired anyway.
#
# Usage: tests/bench/drift.sh [--binary PATH] [--changes N] [--idle-secs S]
#                             [--timeout S]
#   --binary     rampart to measure (default: the first that exists of
#                target/x86_64-unknown-linux-musl/release/rampart,
#                target/release/rampart, target/debug/rampart); not built here
#   --changes    drift changes per contender (default: 1000)
#   --idle-secs  quiet seconds over which idle CPU is measured (default: 30)
#   --timeout    seconds after which a change counts as never repaired (default: 5)
# Environment: TMPDIR  where the temporary root goes (default: /tmp)
#
# Needs python3 and inotifywait (inotify-tools; installed with apt-get when
# missing and running as root). Runs as root: the files are root-owned.
# Takes about 2 x changes x 0.2 s plus --idle-secs plus ~30 s of set-up.
#
# Exit codes: 0 measured; 1 the agent failed (exited early, never enforced
# the files); 2 a prerequisite is missing (binary, python3, inotifywait, root).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"

ASSOCIATIONS=10
FILES_PER_ASSOCIATION=10
# Repairs per file per fight window that stay clear of FIGHT_REPAIRS (5).
SAFE_REPAIRS=3
FIGHT_WINDOW_MS=61000
# Quiet time before idle figures: tokio ends idle blocking threads after 10 s.
SETTLE_SECS=12

changes=1000
idle_secs=30
timeout_secs=5
bin=

die() {
    echo "drift-bench: $*" >&2
    exit 2
}

fail() {
    echo "drift-bench: $*" >&2
    exit 1
}

note() {
    echo "drift-bench: $*" >&2
}

while (($#)); do
    case $1 in
    --binary) bin=${2:?--binary needs a path}; shift 2 ;;
    --changes) changes=${2:?--changes needs a number}; shift 2 ;;
    --idle-secs) idle_secs=${2:?--idle-secs needs a number}; shift 2 ;;
    --timeout) timeout_secs=${2:?--timeout needs a number}; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ $changes =~ ^[1-9][0-9]*$ ]] || die "--changes must be a positive integer"
[[ $idle_secs =~ ^[1-9][0-9]*$ ]] || die "--idle-secs must be a positive integer"
[[ $timeout_secs =~ ^[1-9][0-9]*$ ]] || die "--timeout must be a positive integer"

# Off EC2 the identity comes from /etc/machine-id; on EC2 this keeps the
# metadata service out of it. No State Manager, no S3 output: no network.
export AWS_EC2_METADATA_DISABLED=true
unset RAMPART_LOG RAMPART_CONFIG RAMPART_STATE_DIR AWS_ENDPOINT_URL

# --- Prerequisites --------------------------------------------------------

if [[ -z $bin ]]; then
    for candidate in target/x86_64-unknown-linux-musl/release/rampart \
        target/release/rampart target/debug/rampart; do
        if [[ -x $candidate ]]; then
            bin=$candidate
            break
        fi
    done
    [[ -n $bin ]] || die "no rampart binary under target/; build one or pass --binary"
fi
[[ -x $bin ]] || die "binary '$bin' is missing or not executable"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
[[ $(id -u) -eq 0 ]] || die "run as root: the benchmark's files are root-owned 0600"
command -v python3 >/dev/null || die "python3 is required for the probe"
if ! command -v inotifywait >/dev/null && command -v apt-get >/dev/null; then
    note "installing inotify-tools (the reference repair loop)"
    apt-get install -y inotify-tools >&2 || note "apt-get failed"
fi
command -v inotifywait >/dev/null || die "inotifywait is required (package inotify-tools)"
note "binary: $bin"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rampart-drift.XXXXXX")
root=$tmp/root
config_dir=$tmp/config
state_dir=$tmp/state
agent_pid=
ref_pgid=
sleep_pid=

# Ends what this script started, by pid, then removes the temporary root.
cleanup() {
    local rc=$?
    if [[ -n $agent_pid ]] && kill -TERM "$agent_pid" 2>/dev/null; then
        for _ in $(seq 100); do
            kill -0 "$agent_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$agent_pid" 2>/dev/null || true
    fi
    if [[ -n $ref_pgid ]]; then
        kill -TERM -- "-$ref_pgid" 2>/dev/null || true
    fi
    if [[ -n $sleep_pid ]]; then
        kill -TERM "$sleep_pid" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    rm -rf "$tmp"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- Probe ----------------------------------------------------------------

# The probe writes the layout and measures; one source for paths and content.
cat >"$tmp/probe.py" <<'PY'
"""Layout, readiness checks and the drift-repair probe for drift.sh."""
import ctypes
import json
import math
import os
import resource
import select
import stat
import struct
import subprocess
import sys
import time

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x2, 0x4, 0x8
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200
IN_OPEN = 0x20
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
POLL_SECS = 0.02
TAMPERED = b"tampered=1\n"
inotify_dirs = {}


def content_of(rel):
    return f"# rampart drift benchmark: {rel}\nsecure=1\n"


def manifest(tmp):
    """(host path, wanted bytes) in probe order."""
    with open(os.path.join(tmp, "manifest")) as f:
        rels = [line.strip() for line in f if line.strip()]
    return [(os.path.join(tmp, "root") + r, content_of(r).encode()) for r in rels]


def setup(tmp, associations, per):
    """Root with an account database, documents, drop-ins, golden copies."""
    root = os.path.join(tmp, "root")
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(root, "etc/group"), "w") as f:
        f.write("root:x:0:\n")
    os.makedirs(os.path.join(tmp, "config/associations.d"))
    os.makedirs(os.path.join(tmp, "docs"))
    rels = [[] for _ in range(associations)]
    for a in range(associations):
        os.makedirs(os.path.join(root, f"etc/bench-{a}"))
        os.makedirs(os.path.join(tmp, f"golden/etc/bench-{a}"))
        lines = ["schemaVersion: '2.2'",
                 f"description: drift benchmark, association {a}", "mainSteps:"]
        for s in range(per):
            rel = f"/etc/bench-{a}/file-{s}.conf"
            rels[a].append(rel)
            lines += ["- action: rampart:file", f"  name: file{s}",
                      f"  inputs: {{path: {rel}, owner: root, group: root, "
                      f"mode: \"0600\", content: {json.dumps(content_of(rel))}}}"]
            with open(os.path.join(tmp, "golden") + rel, "w") as f:
                f.write(content_of(rel))
        doc = os.path.join(tmp, f"docs/bench-{a}.yml")
        with open(doc, "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(tmp, f"config/associations.d/bench-{a}.yml"), "w") as f:
            f.write(f"name: bench-{a}\ndocument: {doc}\n"
                    "schedule: rate(1 day)\nmode: apply\n")
    # Round-robin: consecutive changes hit different associations.
    with open(os.path.join(tmp, "manifest"), "w") as f:
        for s in range(per):
            for a in range(associations):
                f.write(rels[a][s] + "\n")


def compliant(path, want):
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or stat.S_IMODE(st.st_mode) != 0o600:
            return False
        if st.st_uid != 0 or st.st_gid != 0:
            return False
        with open(path, "rb") as f:
            return f.read() == want
    except OSError:
        return False


def restore(path, want):
    tmp = os.path.join(os.path.dirname(path), ".probe-restore")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, want)
    os.fchmod(fd, 0o600)
    os.close(fd)
    os.rename(tmp, path)


CHANGES = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO
           | IN_CREATE | IN_DELETE)


def inotify_watch(dirs, mask=CHANGES):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
    if fd < 0:
        sys.exit(f"probe: inotify_init1 failed: errno {ctypes.get_errno()}")
    wds = {}
    for d in dirs:
        wd = libc.inotify_add_watch(fd, d.encode(), mask)
        if wd < 0:
            sys.exit(f"probe: cannot watch {d}: errno {ctypes.get_errno()}")
        wds[wd] = d
    inotify_dirs[fd] = wds
    return fd


def events(fd):
    """(folder, name) of every queued event (struct inotify_event)."""
    out = []
    try:
        while True:
            buf = os.read(fd, 65536)
            i = 0
            while i < len(buf):
                wd, _, _, size = struct.unpack_from("iIII", buf, i)
                name = buf[i + 16:i + 16 + size].split(b"\0", 1)[0].decode()
                out.append((inotify_dirs[fd].get(wd, ""), name))
                i += 16 + size
    except BlockingIOError:
        pass
    return out


def drain(fd):
    try:
        while os.read(fd, 65536):
            pass
    except BlockingIOError:
        pass


def percentile(sorted_ms, p):
    return sorted_ms[max(0, math.ceil(p / 100 * len(sorted_ms)) - 1)]


def run(tmp, label, changes, interval_ms, timeout_s):
    files = manifest(tmp)
    fd = inotify_watch(sorted({os.path.dirname(p) for p, _ in files}))
    lat_ms, missed, by_poll, not_ready = [], 0, 0, 0
    start = time.monotonic()
    for i in range(changes):
        delay = start + i * interval_ms / 1000 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        path, want = files[i % len(files)]
        # A file the previous change left drifted would measure nothing.
        if not compliant(path, want):
            not_ready += 1
            restore(path, want)
        drain(fd)

        # Change, timed from just before the first syscall.
        t0 = time.perf_counter_ns()
        if (i + i // len(files)) % 2 == 0:
            os.chmod(path, 0o644)
        else:
            w = os.open(path, os.O_WRONLY | os.O_TRUNC | os.O_NOFOLLOW)
            os.write(w, TAMPERED)
            os.close(w)

        # Wait for the enforced state: on each event, and every POLL_SECS.
        deadline = t0 + timeout_s * 1_000_000_000
        woke_by_event = True
        while True:
            if compliant(path, want):
                lat_ms.append((time.perf_counter_ns() - t0) / 1e6)
                by_poll += 0 if woke_by_event else 1
                break
            now = time.perf_counter_ns()
            if now >= deadline:
                missed += 1
                print(f"probe: {label}: change {i} of {path} not repaired "
                      f"in {timeout_s} s", file=sys.stderr)
                restore(path, want)
                break
            ready, _, _ = select.select([fd], [], [],
                                        min(POLL_SECS, (deadline - now) / 1e9))
            woke_by_event = bool(ready)
            drain(fd)
    lat_ms.sort()
    out = {"label": label, "changes": changes, "repaired": len(lat_ms),
           "missed": missed, "found_by_poll": by_poll, "not_ready": not_ready,
           "interval_ms": interval_ms,
           "seconds": round(time.monotonic() - start, 1)}
    if lat_ms:
        out.update(p50=percentile(lat_ms, 50), p90=percentile(lat_ms, 90),
                   p99=percentile(lat_ms, 99), max=lat_ms[-1],
                   mean=sum(lat_ms) / len(lat_ms))
    with open(os.path.join(tmp, f"{label}.json"), "w") as f:
        json.dump(out, f)


def wait_enforced(tmp, pid, timeout_s):
    """All files enforced, and the agent's inotify watches in place."""
    files = manifest(tmp)
    want_watches = len({os.path.dirname(p) for p, _ in files}) + 1
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            sys.exit("probe: the agent exited")
        if all(compliant(p, w) for p, w in files) and watches(pid) >= want_watches:
            return
        time.sleep(0.1)
    sys.exit(f"probe: files not enforced or watches not set within {timeout_s} s")


def watches(pid):
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") != "anon_inode:inotify":
                continue
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                n += sum(1 for line in f if line.startswith("inotify wd:"))
        except OSError:
            pass
    return n


def status_kib(pid):
    """VmRSS, VmHWM (KiB) and thread count of a process."""
    fields = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            fields[key] = value.split()[0] if value.split() else "0"
    return int(fields["VmRSS"]), int(fields["VmHWM"]), int(fields["Threads"])


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        after_comm = f.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 (utime, stime); after_comm starts at field 3.
    return int(after_comm[11]) + int(after_comm[12])


def group_rss_kib(pgid):
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                if int(f.read().rsplit(")", 1)[1].split()[2]) == pgid:
                    total += status_kib(int(entry))[0]
        except (OSError, IndexError, ValueError):
            pass
    return total


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "setup":
        setup(args[0], int(args[1]), int(args[2]))
    elif cmd == "wait-enforced":
        wait_enforced(args[0], int(args[1]), float(args[2]))
    elif cmd == "run":
        run(args[0], args[1], int(args[2]), int(args[3]), float(args[4]))
    elif cmd == "mem":
        print(*status_kib(int(args[0])))
    elif cmd == "group-rss":
        print(group_rss_kib(int(args[0])))
    elif cmd == "idle-cpu":
        # CPU seconds over the window, and opens of managed files in it: an
        # idle agent has no reason to read them.
        tmp, pid, secs = args[0], int(args[1]), float(args[2])
        files = {p for p, _ in manifest(tmp)}
        fd = inotify_watch(sorted({os.path.dirname(p) for p in files}), IN_OPEN)
        before = cpu_ticks(pid)
        time.sleep(secs)
        used = (cpu_ticks(pid) - before) / os.sysconf("SC_CLK_TCK")
        opens = sum(1 for d, name in events(fd) if os.path.join(d, name) in files)
        print(f"{used:.2f} {opens}")
    elif cmd == "peak-rss":
        subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    elif cmd == "field":
        with open(args[0]) as f:
            value = json.load(f).get(args[1], "n/a")
        print(f"{value:.2f}" if isinstance(value, float) else value)
    elif cmd == "agent-latency":
        # The agent's own figure: first event to repair done, last 100 repairs.
        with open(args[0]) as f:
            ms = sorted(e["latencyMs"] for e in json.load(f).get("drift", [])
                        if e.get("latencyMs"))
        print(f"{percentile(ms, 50)} ms p50, {ms[-1]} ms max over the last {len(ms)}"
              if ms else "n/a")
    else:
        sys.exit(f"probe: unknown command {cmd}")


main()
PY
probe() { python3 "$tmp/probe.py" "$@"; }

# One change every FIGHT_WINDOW / SAFE_REPAIRS / files milliseconds.
files=$((ASSOCIATIONS * FILES_PER_ASSOCIATION))
interval_ms=$(((FIGHT_WINDOW_MS + SAFE_REPAIRS * files - 1) / (SAFE_REPAIRS * files)))

# --- Layout ---------------------------------------------------------------

probe setup "$tmp" "$ASSOCIATIONS" "$FILES_PER_ASSOCIATION"
mkdir -p "$state_dir"
printf '[agent]\nstate_manager = false\n' >"$config_dir/rampart.toml"

# --- Reference processes for memory ---------------------------------------

sleep infinity &
sleep_pid=$!
sleep 0.2
read -r sleep_rss _ _ < <(probe mem "$sleep_pid")
kill -TERM "$sleep_pid"
wait "$sleep_pid" 2>/dev/null || true
sleep_pid=
version_hwm=$(probe peak-rss "$bin" --version)

# --- Agent: set-up and idle cost ------------------------------------------

note "starting the agent ($ASSOCIATIONS associations, $files files)"
"$bin" agent --config-dir "$config_dir" --state-dir "$state_dir" --root "$root" \
    --config "$config_dir/rampart.toml" --log-format json \
    >/dev/null 2>"$tmp/agent.log" &
agent_pid=$!
probe wait-enforced "$tmp" "$agent_pid" 60 || {
    tail -20 "$tmp/agent.log" >&2
    fail "the agent did not enforce the files"
}
"$bin" status --state-dir "$state_dir" --json >"$tmp/status.json"
ran=$(python3 -c 'import json, sys
a = json.load(open(sys.argv[1]))["associations"]
print(sum(1 for v in a.values() if v.get("lastStatus") == "Success"))' "$tmp/status.json")
((ran == ASSOCIATIONS)) || fail "$ran of $ASSOCIATIONS associations ran successfully"

note "agent idle: settling ${SETTLE_SECS}s, then CPU over ${idle_secs}s"
sleep "$SETTLE_SECS"
read -r idle_rss idle_hwm idle_threads < <(probe mem "$agent_pid")
read -r idle_cpu idle_opens < <(probe idle-cpu "$tmp" "$agent_pid" "$idle_secs")

# --- Agent: drift-repair latency ------------------------------------------

note "agent: $changes changes, one every ${interval_ms} ms"
probe run "$tmp" agent "$changes" "$interval_ms" "$timeout_secs"
kill -0 "$agent_pid" 2>/dev/null || fail "the agent exited during the drift run"
sleep 1
read -r after_rss after_hwm after_threads < <(probe mem "$agent_pid")
repaired_lines=$(grep -c '"drift_repaired"' "$tmp/agent.log" || true)
fight_lines=$(grep -c '"drift_fight"' "$tmp/agent.log" || true)
agent_reported=$(probe agent-latency "$state_dir/agent/state.json")

kill -TERM "$agent_pid"
agent_rc=0
wait "$agent_pid" || agent_rc=$?
agent_pid=

# --- Reference: inotifywait repair loop -----------------------------------

# The same repair with stock tools: on an event for a managed file, fix the
# mode, then the content through a temp file and rename. No debounce.
cat >"$tmp/ref-loop.sh" <<'SH'
#!/usr/bin/env bash
# Usage: ref-loop.sh ROOT GOLDEN PIDFILE LOG DIR...
root=$1 golden=$2
echo "$$" >"$3"
log=$4
shift 4
inotifywait -m -e attrib,close_write,moved_to --format '%w%f' "$@" 2>"$log" |
    while IFS= read -r f; do
        [[ $f == *.conf ]] || continue
        g=$golden${f#"$root"}
        [[ -f $g ]] || continue
        if [[ $(stat -c %a "$f") != 600 ]]; then
            chmod 600 "$f"
        fi
        if ! cmp -s "$g" "$f"; then
            t=${f%/*}/.${f##*/}.tmp
            cp "$g" "$t" && chmod 600 "$t" && mv -f "$t" "$f"
        fi
    done
SH
note "reference: inotifywait loop, $changes changes, one every ${interval_ms} ms"
setsid bash "$tmp/ref-loop.sh" "$root" "$tmp/golden" "$tmp/ref.pid" "$tmp/ref.log" \
    "$root"/etc/bench-* &
for _ in $(seq 100); do
    grep -q 'Watches established' "$tmp/ref.log" 2>/dev/null && break
    sleep 0.1
done
grep -q 'Watches established' "$tmp/ref.log" || die "inotifywait did not start"
ref_pgid=$(cat "$tmp/ref.pid")
ref_rss=$(probe group-rss "$ref_pgid")
probe run "$tmp" reference "$changes" "$interval_ms" "$timeout_secs"
kill -TERM -- "-$ref_pgid" 2>/dev/null || true
ref_pgid=

# --- Report ---------------------------------------------------------------

a() { probe field "$tmp/agent.json" "$1"; }
r() { probe field "$tmp/reference.json" "$1"; }
ratio() { awk -v x="$(a "$1")" -v y="$(r "$1")" 'BEGIN { printf "%.2fx", x / y }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

echo
echo "Rampart agent benchmark, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
# shellcheck source=/dev/null
echo "host: $(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-unknown}"), kernel $(uname -r)," \
    "$(nproc) CPUs; rampart $("$bin" --version | awk '{print $2}')"
echo "binary: $bin"
echo "setup: $ASSOCIATIONS apply-mode associations x $FILES_PER_ASSOCIATION rampart:file steps" \
    "= $files watched files in $ASSOCIATIONS folders"
echo "method: $changes changes each (chmod 0644 / rewrite, alternating), one every" \
    "${interval_ms} ms round-robin over the files; probe: inotify + 20 ms re-check"
echo
printf '%-34s %9s %9s %9s %9s %9s\n' "drift repair latency (ms)" p50 p90 p99 max mean
printf '%-34s %9s %9s %9s %9s %9s\n' "rampart agent" "$(a p50)" "$(a p90)" "$(a p99)" "$(a max)" "$(a mean)"
printf '%-34s %9s %9s %9s %9s %9s\n' "inotifywait + bash loop" "$(r p50)" "$(r p90)" "$(r p99)" "$(r max)" "$(r mean)"
echo
echo "ratios rampart / reference (lower is faster)"
printf '  %-32s %9s\n' "p50" "$(ratio p50)" "p99" "$(ratio p99)" "max" "$(ratio max)"
echo
echo "repairs"
printf '  %-32s %s\n' "rampart" "$(a repaired)/$changes repaired, $(a missed) missed, $(a found_by_poll) seen only by the 20 ms re-check, $(a not_ready) not enforced before their change"
printf '  %-32s %s\n' "reference" "$(r repaired)/$changes repaired, $(r missed) missed, $(r found_by_poll) seen only by the 20 ms re-check, $(r not_ready) not enforced before their change"
printf '  %-32s %s\n' "agent log" "$repaired_lines drift_repaired, $fight_lines drift_fight"
printf '  %-32s %s\n' "agent's own latency (state)" "$agent_reported"
echo
echo "memory (/proc/PID/status)"
printf '  %-32s %12s %12s %8s\n' "" VmRSS VmHWM threads
printf '  %-32s %12s %12s %8s\n' "rampart agent, idle" "$(mib "$idle_rss")" "$(mib "$idle_hwm")" "$idle_threads"
printf '  %-32s %12s %12s %8s\n' "rampart agent, after the run" "$(mib "$after_rss")" "$(mib "$after_hwm")" "$after_threads"
printf '  %-32s %12s %12s\n' "sleep infinity" "$(mib "$sleep_rss")" ""
printf '  %-32s %12s %12s\n' "rampart --version (peak)" "" "$(mib "$version_hwm")"
printf '  %-32s %12s\n' "reference loop, idle (all procs)" "$(mib "$ref_rss")"
echo
printf 'idle CPU: rampart agent used %s s (utime+stime) in %s s; managed files opened meanwhile: %s (0 expected)\n' \
    "$idle_cpu" "$idle_secs" "$idle_opens"
echo "agent exit on SIGTERM: $agent_rc (0 expected)"
