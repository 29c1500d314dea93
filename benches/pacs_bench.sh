#!/usr/bin/env bash
# Harvest and retrieval against a real Orthanc on loopback (issue #14),
# side by side with DCMTK in the same run:
#   harvest:  `pacs-cohort pacs harvest` (C-FIND studies, then each study's
#             series, into the index) vs findscu (one study query, then one
#             series query per study: what a script around DCMTK does).
#   retrieve: `pacs-cohort pacs retrieve` (C-GET per series, indexed as it
#             arrives) vs getscu (one C-GET per series, files only), and
#             `pacs retrieve --method move` (C-MOVE to our storage SCP) vs
#             movescu (one C-MOVE per series to its own storage SCP).
# Peak memory from /usr/bin/time -v.
#
# Usage: PATIENTS=200 BUILD=release bash benches/pacs_bench.sh
# Needs: orthanc, orthanc-dicomweb, dcmtk (Debian packages), curl.
set -euo pipefail
cd "$(dirname "$0")/.."
PATIENTS=${PATIENTS:-200}
BUILD=${BUILD:-release}
if [ "$BUILD" = release ]; then cargo build --release --quiet; else cargo build --quiet; fi
BIN=$PWD/target/$BUILD/pacs-cohort
work=$(mktemp -d)
trap 'kill "$orthanc_pid" 2>/dev/null || true; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
HTTP=$(port); DICOM=$(port); SCP=$(port)
mkdir -p "$work/storage"
cat > "$work/orthanc.json" <<EOF
{"Name": "bench", "StorageDirectory": "$work/storage", "IndexDirectory": "$work/storage",
 "HttpPort": $HTTP, "DicomPort": $DICOM, "DicomAet": "ORTHANC", "RemoteAccessAllowed": false,
 "AuthenticationEnabled": false, "DicomCheckCalledAet": true, "StorageCompression": false,
 "DicomModalities": {"me": ["PACSCOHORT", "127.0.0.1", $SCP]}}
EOF
Orthanc "$work/orthanc.json" >"$work/orthanc.log" 2>&1 &
orthanc_pid=$!
until curl -sf "http://127.0.0.1:$HTTP/system" >/dev/null; do sleep 0.2; done
"$BIN" synth --patients "$PATIENTS" --seed 3 --out "$work/archive" >/dev/null
find "$work/archive" -type f -print0 |
  xargs -0 -P 2 -I{} curl -s -o /dev/null -X POST --data-binary @{} "http://127.0.0.1:$HTTP/instances"
echo "machine: $(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg); build: $BUILD"
echo "orthanc: $(curl -s "http://127.0.0.1:$HTTP/statistics" | tr -d ' \n')"

db="$work/ws.db"
"$BIN" --db "$db" pacs add bench --ae-title ORTHANC --host 127.0.0.1 --port "$DICOM" --calling-ae PACSCOHORT --scp-port "$SCP" >/dev/null
measure() { # label, command...
  local label=$1; shift
  local rc=0
  /usr/bin/time -f "%e %M" -o "$work/time" "$@" >"$work/out" 2>&1 || rc=$?
  read -r secs kb < <(tail -n 1 "$work/time")
  printf '%-34s %8.2f s  %7d KiB peak  (exit %d)\n' "$label" "$secs" "$kb" "$rc"
}
measure "pacs-cohort harvest" "$BIN" --db "$db" pacs harvest bench
grep -o 'Harvested.*' "$work/out" || true

dcmtk_harvest() {
  findscu -S -aet PACSCOHORT -aec ORTHANC -k QueryRetrieveLevel=STUDY -k StudyInstanceUID \
    -k StudyDate -k PatientID -k PatientName -k AccessionNumber -k StudyDescription \
    -X -od "$work/find" 127.0.0.1 "$DICOM"
  for f in "$work"/find/rsp*.dcm; do
    uid=$(dcmdump -q +P StudyInstanceUID "$f" | sed -E 's/.*\[(.*)\].*/\1/')
    findscu -S -aet PACSCOHORT -aec ORTHANC -k QueryRetrieveLevel=SERIES -k "StudyInstanceUID=$uid" \
      -k SeriesInstanceUID -k Modality -k SeriesNumber -k SeriesDescription -k BodyPartExamined \
      -k NumberOfSeriesRelatedInstances 127.0.0.1 "$DICOM"
  done
}
mkdir -p "$work/find"
export -f dcmtk_harvest; export work DICOM
measure "DCMTK findscu (study + series)" bash -c dcmtk_harvest

printf '%s' '{"schema_version":1,"name":"all","rules":[]}' > "$work/all.json"
"$BIN" --db "$db" cohort save --spec "$work/all.json" >/dev/null
measure "pacs-cohort retrieve (C-GET)" "$BIN" --db "$db" pacs retrieve --cohort all

dcmtk_retrieve() {
  python3 - "$db" <<'PY' | while read -r st se; do
import sqlite3, sys
for st, se in sqlite3.connect(sys.argv[1]).execute("SELECT study_uid, series_uid FROM remote_series"):
    print(st, se)
PY
    getscu -S -aet PACSCOHORT -aec ORTHANC -k QueryRetrieveLevel=SERIES -k "StudyInstanceUID=$st" \
      -k "SeriesInstanceUID=$se" -od "$work/get" 127.0.0.1 "$DICOM"
  done
}
mkdir -p "$work/get"
export -f dcmtk_retrieve; export db
measure "DCMTK getscu (per series)" bash -c dcmtk_retrieve
echo "instances: retrieved $(find "$work/retrieved" -name '*.dcm' | wc -l), getscu $(find "$work/get" -type f | wc -l)"

# C-MOVE: a second workspace (harvest untimed), so nothing is local yet.
mkdir -p "$work/m"
db2="$work/m/ws.db"
"$BIN" --db "$db2" pacs add bench --ae-title ORTHANC --host 127.0.0.1 --port "$DICOM" --calling-ae PACSCOHORT --scp-port "$SCP" >/dev/null
"$BIN" --db "$db2" pacs harvest bench >/dev/null 2>&1
"$BIN" --db "$db2" cohort save --spec "$work/all.json" >/dev/null
measure "pacs-cohort retrieve (C-MOVE)" "$BIN" --db "$db2" pacs retrieve --cohort all --method move

dcmtk_move() {
  python3 - "$db" <<'PY' | while read -r st se; do
import sqlite3, sys
for st, se in sqlite3.connect(sys.argv[1]).execute("SELECT study_uid, series_uid FROM remote_series"):
    print(st, se)
PY
    movescu -S -aet PACSCOHORT -aec ORTHANC -aem PACSCOHORT --port "$SCP" -k QueryRetrieveLevel=SERIES \
      -k "StudyInstanceUID=$st" -k "SeriesInstanceUID=$se" -od "$work/move" 127.0.0.1 "$DICOM"
  done
}
mkdir -p "$work/move"
export -f dcmtk_move; export SCP
measure "DCMTK movescu (per series)" bash -c dcmtk_move
echo "instances: moved $(find "$work/m/retrieved" -name '*.dcm' | wc -l), movescu $(find "$work/move" -type f | wc -l)"
