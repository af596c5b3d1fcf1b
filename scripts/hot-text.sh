#!/usr/bin/env bash
# Finds the functions an idle vrrpd runs and writes them to
# link/steady-state.txt, which build.rs turns into a linker script that puts
# them together at the start of the text (release builds; see build.rs for
# why that shrinks the resident set).
#
#   sudo scripts/hot-text.sh [ROUNDS]     # default 6; about 2.5 min a round
#
# Each round builds the release binary with the current list, runs one node
# of 1000 VRRPv3 instances (scripts/mem-breakdown.sh, debug logging off),
# all Master, then all Backup to a peer, and once it is idle pages its text out
# (process_madvise(MADV_PAGEOUT)) with the page cache warm again at once:
# every 64 KB window the steady state needs then faults once, and the
# instruction that faulted names a function it runs. Those not grouped yet
# join the list; the next round groups them and uncovers the next function
# of each window. The first round also samples the CPU for 20 s. Rounds end
# when one finds nothing new. Names are kept exact for generic instances
# (the hash tells them apart) and with the hash as a wildcard where one
# symbol bears the name, so the list survives edits of vrrpd's own code.
# Needs perf (Debian: linux-perf) and a kernel with process_madvise (5.10+).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source-path=SCRIPTDIR/.. source=netns-tests/paths.sh
. netns-tests/paths.sh
ROUNDS=${1:-6}
LIST=link/steady-state.txt
BIN=$(cargo_target_dir "$PWD")/release/vrrpd
[[ $(id -u) == 0 ]] || { echo "hot-text.sh needs root (namespaces, perf)" >&2; exit 1; }
if ! command -v perf >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-perf >/dev/null
fi
W=$(mktemp -d /var/tmp/vrrpd-hot.XXXXXX)
MB=
cleanup() {
    [[ $MB ]] && kill "$MB" 2>/dev/null && wait "$MB" 2>/dev/null
    [[ ${KEEP:-} ]] || rm -rf "$W"
}
trap cleanup EXIT
touch "$LIST"

# Pages a process's mapping of the binary's text out: its next touch of
# each 64 KB window faults.
pageout() {
    python3 - "$1" "$BIN" <<'PY'
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
pid, binary = int(sys.argv[1]), sys.argv[2]
line = next(l for l in open(f"/proc/{pid}/maps") if " r-xp " in l and l.rstrip().endswith(binary))
start, end = (int(x, 16) for x in line.split()[0].split("-"))
class Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
iov = Iovec(start, end - start)
SYS_pidfd_open, SYS_process_madvise, MADV_PAGEOUT = 434, 440, 21
pidfd = libc.syscall(SYS_pidfd_open, pid, 0)
if pidfd < 0 or libc.syscall(SYS_process_madvise, pidfd, ctypes.byref(iov), 1, MADV_PAGEOUT, 0) < 0:
    sys.exit(f"process_madvise: errno {ctypes.get_errno()}")
PY
}

for ((round = 1; round <= ROUNDS; round++)); do
    echo "== round $round: building with $(grep -vc '^#' "$LIST" || true) names"
    cargo build --release --quiet
    for role in master backup; do
        : >"$W/mb.log"
        # VRRPD_LOG=info: the steady state as a deployment runs it (the
        # lab's -D would add debug lines, and their code, to every trim).
        ROLE=$role VRRPD_LOG=info PAUSE=60 SETTLE=25 scripts/mem-breakdown.sh "$BIN" >"$W/mb.log" 2>&1 &
        MB=$!
        for _ in $(seq 1 90); do grep -q '^pid ' "$W/mb.log" && break; sleep 0.5; done
        PID=$(awk '/^pid / {print $2; exit}' "$W/mb.log" | tr -d ,)
        [[ $PID ]] || { cat "$W/mb.log"; exit 1; }
        grep 'r-xp' "/proc/$PID/maps" | grep -F "$BIN" >"$W/maps.$role"
        perf record -q -e exceptions:page_fault_user -p "$PID" -o "$W/pf.data" -- sleep 8 >/dev/null 2>&1 &
        perf_pid=$!
        sleep 0.5
        pageout "$PID"
        cat "$BIN" >/dev/null
        wait "$perf_pid"
        perf script -i "$W/pf.data" -F trace 2>/dev/null | sed -n 's/.*ip=\(0x[0-9a-f]*\).*/\1/p' >"$W/ips.$role"
        if ((round == 1)); then
            perf record -q -F 20000 -p "$PID" -o "$W/cpu.data" -- sleep 20 >/dev/null 2>&1
            perf script -i "$W/cpu.data" -F ip 2>/dev/null | awk '{print "0x" $1}' >>"$W/ips.$role"
        fi
        kill "$MB" 2>/dev/null || true
        wait "$MB" 2>/dev/null || true
        MB=
    done
    nm -S "$BIN" >"$W/nm"
    readelf -lW "$BIN" >"$W/segments"
    added=$(python3 - "$W" "$LIST" <<'PY'
import bisect, fnmatch, re, sys
w, list_path = sys.argv[1], sys.argv[2]
# Runtime address -> link-time address: the text mapping's start is its
# file offset; the executable LOAD segment says where that offset links.
seg = next(l.split() for l in open(f"{w}/segments") if l.split()[:1] == ["LOAD"] and "E" in l.split()[6:-1])
bias = int(seg[2], 16) - int(seg[1], 16)
syms = sorted((int(a, 16), int(s, 16), n) for a, s, t, n in
              (l.split() for l in open(f"{w}/nm") if len(l.split()) == 4) if t in "tT")
starts = [s[0] for s in syms]
names = set()
for role in ("master", "backup"):
    maps = open(f"{w}/maps.{role}").read().split()
    start, end = (int(x, 16) for x in maps[0].split("-"))
    off = int(maps[2], 16)
    for line in open(f"{w}/ips.{role}"):
        ip = int(line, 16)
        if not start <= ip < end:
            continue  # libc, the vDSO
        va = ip - start + off + bias
        i = bisect.bisect_right(starts, va) - 1
        if i >= 0 and va < syms[i][0] + syms[i][1]:
            names.add(syms[i][2])
all_names = [s[2] for s in syms]
def pattern(name):
    """The name with its hash (legacy `17h...E`, v0 crate `Cs..._`) and LTO
    suffix as wildcards, if that still names only this symbol."""
    g = re.sub(r"17h[0-9a-f]{16}E", "17h*E", name)
    g = re.sub(r"Cs[0-9A-Za-z]{6,}_", "Cs*_", g)
    g = re.sub(r"\.(llvm\.)?[0-9]+$", "*", g)
    if g != name and sum(1 for n in all_names if fnmatch.fnmatchcase(n, g)) == 1:
        return g
    return re.sub(r"\.(llvm\.)?[0-9]+$", "*", name)
lines = [l.rstrip("\n") for l in open(list_path)]
known = [l for l in lines if l and not l.startswith("#")]
def listed(n):
    return any(fnmatch.fnmatchcase(n, p) for p in known)
new = sorted({pattern(n) for n in names if not listed(n)})
header = [l for l in lines if l.startswith("#")] or [
    "# Functions an idle vrrpd runs (1000 instances), grouped at the start of",
    "# the text by build.rs. Made by scripts/hot-text.sh; one name or glob a line.",
]
with open(list_path, "w") as f:
    f.write("\n".join(header + sorted(set(known + new))) + "\n")
print(len(new))
PY
)
    echo "   $added new"
    ((added > 0)) || break
done
echo "== $LIST: $(grep -vc '^#' "$LIST") names"
