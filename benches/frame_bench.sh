#!/usr/bin/env bash
# Frame time of the desktop app while it indexes a large archive in the
# background (issue #3). Runs the release binary under Xvfb (software
# rendering: Mesa llvmpipe through glow), repainting continuously, and
# prints the distribution of UI time per frame and of frame intervals.
#
# Usage: bash benches/frame_bench.sh [ARCHIVE]   (default: a 100k-file synth archive)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-out}
mkdir -p "$OUT"
cargo build --release --quiet
BIN=target/release/pacs-cohort
ARCHIVE=${1:-$OUT/archive-100000}
if [ ! -d "$ARCHIVE" ]; then
  "$BIN" synth --patients 13333 --seed 13 --out "$ARCHIVE"
fi
"$BIN" bench-floor "$ARCHIVE" --read >/dev/null   # warm the page cache
command -v Xvfb >/dev/null || { echo "needs Xvfb (apt-get install xvfb)" >&2; exit 1; }
DISPLAY_NUM=${DISPLAY_NUM:-:97}
Xvfb "$DISPLAY_NUM" -screen 0 1400x900x24 >/dev/null 2>&1 &
XPID=$!
trap 'kill $XPID 2>/dev/null || true' EXIT
sleep 1
TMP=$(mktemp -d)
STATS="$OUT/frame-stats.json"
rm -f "$STATS"
start=$(date +%s.%N)
DISPLAY=$DISPLAY_NUM XDG_RUNTIME_DIR=$TMP XDG_DATA_HOME=$TMP PACS_COHORT_FRAME_STATS="$STATS" \
  "$BIN" --db "$TMP/ws.db" gui --sample "$ARCHIVE" --exit-when-indexed
end=$(date +%s.%N)
files=$("$BIN" --db "$TMP/ws.db" status --json | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["status"].values()))')
echo "machine: $(uname -m), $(nproc) cores; $(date +%F); archive: $ARCHIVE ($files files)"
echo "indexing under the GUI took $(echo "$end - $start" | bc) s (window open to close)"
python3 - "$STATS" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("| measure | frames | p50 ms | p95 ms | p99 ms | max ms |")
print("|---|---:|---:|---:|---:|---:|")
for k, name in (("ui_ms", "UI code per frame"), ("frame_cpu_ms", "frame CPU time (UI + tessellate + render, eframe)"), ("interval_ms", "frame interval (incl. vsync/present wait)")):
    v = s[k]
    print(f"| {name} | {v['frames']} | {v['p50']:.2f} | {v['p95']:.2f} | {v['p99']:.2f} | {v['max']:.2f} |")
PY
rm -rf "$TMP"
