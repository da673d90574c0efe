#!/usr/bin/env bash
# Rampart benchmark: a patch-baseline Scan of an rpm root, against the one
# dnf command a shell script would run for the same question, in one run.
#
#   rampart check (rampart:patchBaseline, classifications: [Security])
#   vs  dnf -q -C --installroot=ROOT --security check-update
#
# The root has N installed noarch packages (default 60), each with an update
# in a local createrepo_c repository; every other update has a security
# advisory (modifyrepo_c). Both sides read dnf's cache only (check mode and
# -C), so no metadata is downloaded while timing. Before timing, the script
# checks that Rampart reports exactly the N/2 advised updates as missing.
#
# Usage: tests/bench/patch.sh [--binary PATH] [--packages N]
# Needs: rpm, rpmbuild, dnf, createrepo_c, modifyrepo_c, hyperfine.
# Exit codes: 0 measured; 1 Rampart's answer was wrong; 2 a prerequisite is
# missing.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
die() {
    echo "patch bench: $*" >&2
    exit 2
}
# shellcheck source=tests/bench/lib.sh
. tests/bench/lib.sh

bin_arg="" n=60
while [ $# -gt 0 ]; do
    case $1 in
    --binary) bin_arg=$2; shift 2 ;;
    --packages) n=$2; shift 2 ;;
    -h | --help) sed -n '2,17p' "$0"; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done
bin=$(bench_binary "$bin_arg")
for t in rpm rpmbuild dnf createrepo_c modifyrepo_c hyperfine; do
    command -v "$t" >/dev/null || die "$t is not installed"
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
export AWS_EC2_METADATA_DISABLED=true
unset RAMPART_LOG

# One spec builds all N packages as subpackages: one rpmbuild per version.
build() { # version outdir
    local spec=$tmp/p-$1.spec i
    {
        printf 'Name: bench-0\nVersion: %s\nRelease: 1\nSummary: bench\nLicense: MIT\nBuildArch: noarch\n' "$1"
        printf '%%description\nbench\n'
        for ((i = 1; i < n; i++)); do
            printf '%%package -n bench-%d\nSummary: bench\n%%description -n bench-%d\nbench\n' "$i" "$i"
        done
        printf '%%install\nmkdir -p %%{buildroot}/usr/share/bench\n'
        for ((i = 0; i < n; i++)); do
            printf 'echo %s > %%{buildroot}/usr/share/bench/%d\n' "$1" "$i"
        done
        printf '%%files\n/usr/share/bench/0\n'
        for ((i = 1; i < n; i++)); do
            printf '%%files -n bench-%d\n/usr/share/bench/%d\n' "$i" "$i"
        done
    } >"$spec"
    rpmbuild -bb --define "_topdir $tmp/top" --define "_rpmdir $2" \
        --define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
        "$spec" >/dev/null 2>&1 || die "rpmbuild failed"
}
echo "patch bench: building $n packages in two versions" >&2
build 1.0 "$tmp/old"
build 1.1 "$tmp/repo"

mkdir -p "$root/var/lib/rpm" "$root/root" "$root/etc/yum.repos.d"
rpm --root "$root" --dbpath /var/lib/rpm --initdb 2>/dev/null
rpm --root "$root" --dbpath /var/lib/rpm -i "$tmp"/old/*.rpm 2>/dev/null
# Debian's librpm (dnf's) opens ~/.rpmdb: point it at the root's database.
ln -s ../var/lib/rpm "$root/root/.rpmdb"
createrepo_c -q "$tmp/repo"
{
    echo '<?xml version="1.0" encoding="UTF-8"?><updates>'
    for ((i = 0; i < n; i += 2)); do
        printf '<update from="bench" status="final" type="security" version="2"><id>RHSA-2026:%04d</id>' "$i"
        printf '<title>t</title><issued date="2026-11-01 00:00:00"/><severity>Important</severity><description>d</description>'
        printf '<pkglist><collection short="c"><name>c</name><package name="bench-%d" version="1.1" release="1" epoch="0" arch="noarch"><filename>bench-%d-1.1-1.noarch.rpm</filename></package></collection></pkglist></update>\n' "$i" "$i"
    done
    echo '</updates>'
} >"$tmp/updateinfo.xml"
modifyrepo_c -q --mdtype=updateinfo "$tmp/updateinfo.xml" "$tmp/repo/repodata" 2>/dev/null \
    || modifyrepo_c --mdtype=updateinfo "$tmp/updateinfo.xml" "$tmp/repo/repodata" >/dev/null
printf '[local]\nname=local\nbaseurl=file://%s\ngpgcheck=0\nenabled=1\n' "$tmp/repo" \
    >"$root/etc/yum.repos.d/local.repo"
dnf -q --installroot="$root" makecache >/dev/null 2>&1 || die "dnf makecache failed"

cat >"$tmp/scan.yml" <<'EOF'
schemaVersion: "2.2"
mainSteps:
  - name: patch
    action: rampart:patchBaseline
    inputs: {classifications: [Security]}
EOF

# The answer first: N/2 advised updates missing, the rest not approved.
missing=$("$bin" check "$tmp/scan.yml" --root "$root" --state-dir "$tmp/state" --json \
    | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(x["compliance"]=="NonCompliant" for x in r["resources"]))' || true)
want=$(((n + 1) / 2))
if [ "$missing" != "$want" ]; then
    echo "patch bench: Rampart reported $missing missing security updates, want $want" >&2
    exit 1
fi
ref=$(dnf -q -C --installroot="$root" --security check-update 2>/dev/null | grep -c '^bench-' || true)
[ "$ref" = "$want" ] || die "dnf --security check-update listed $ref updates, want $want"

hyperfine -N -i --warmup 2 --min-runs 10 --style basic --export-csv "$tmp/h.csv" \
    -n rampart "$bin check $tmp/scan.yml --root $root --state-dir $tmp/state" \
    -n dnf "dnf -q -C --installroot=$root --security check-update" >"$tmp/h.log" 2>&1 \
    || { cat "$tmp/h.log" >&2; die "hyperfine failed"; }

python3 - "$tmp/h.csv" "$n" "$bin" <<'EOF'
import csv, sys
rows = {r["command"]: r for r in csv.DictReader(open(sys.argv[1]))}
ms = lambda k: float(rows[k]["mean"]) * 1000
sd = lambda k: float(rows[k]["stddev"]) * 1000
print(f"patch-baseline Scan of an rpm root: {sys.argv[2]} installed packages, "
      f"{sys.argv[2]} updates, half with security advisories ({sys.argv[3]})")
print(f"| what | mean | ratio |")
print(f"| --- | --- | --- |")
print(f"| rampart check (patchBaseline, Security) | {ms('rampart'):.1f} ms ± {sd('rampart'):.1f} | {ms('rampart')/ms('dnf'):.2f}x |")
print(f"| dnf -C --security check-update | {ms('dnf'):.1f} ms ± {sd('dnf'):.1f} | 1.00x |")
EOF
