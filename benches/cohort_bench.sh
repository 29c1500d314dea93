#!/usr/bin/env bash
# Cohort count latency on a large synthetic index (issue #4): at least
# 1,000,000 instances / 100,000 studies / 20,000 patients, written straight
# into SQLite by the generator (same distributions as `synth`). Times, in
# process, a live count with 5 criteria and a full attrition table of 6
# rules (benches/specs/*.json), 20 runs each after one warm-up.
#
# Issue 17 adds the in-memory column engine (--columns): its build and
# rebuild time and memory, the count and attrition specs plus the issue's
# three definitions (benches/specs/issue17_*.json) by both evaluators, and
# RANDOM (default 200) definitions from the differential test's generator
# on the engine, the first RANDOM_SQLITE (default 20) also on SQLite.
#
# Usage: bash benches/cohort_bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-bench-out}
mkdir -p "$OUT"
cargo build --release --quiet
BIN=target/release/pacs-cohort
DB="$OUT/cohort-1m.db"
if [ ! -f "$DB.complete" ]; then
  rm -f "$DB" "$DB-wal" "$DB-shm"
  "$BIN" --db "$DB" synth-index --patients 56000 --seed 21 --max-slices 13
  touch "$DB.complete"
fi
echo "machine: $(uname -m), $(nproc) cores; $(date +%F); load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN" --db "$DB" status --json | python3 -c 'import json,sys; print("index:", json.load(sys.stdin)["levels"])'
"$BIN" --db "$DB" bench-cohort --count-spec benches/specs/count5.json --attrition-spec benches/specs/attrition6.json --repeats 20 \
  --columns --definition benches/specs/issue17_study.json --definition benches/specs/issue17_patient.json \
  --definition benches/specs/issue17_series.json --random "${RANDOM_N:-200}" --random-sqlite "${RANDOM_SQLITE:-20}" --seed 17
