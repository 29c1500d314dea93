"""The peer: a plain pydicom indexer, as a researcher would write it.

Walks ROOT, reads each file with dcmread(stop_before_pixels=True, force=True),
and inserts a row per file into SQLite in one transaction. Prints JSON.
"""
import json
import os
import sqlite3
import sys
import time

import pydicom

root, db = sys.argv[1], sys.argv[2]
start = time.perf_counter()
conn = sqlite3.connect(db)
conn.execute(
    "CREATE TABLE IF NOT EXISTS instances (path TEXT PRIMARY KEY, patient_id TEXT, study_uid TEXT,"
    " series_uid TEXT, sop_uid TEXT, modality TEXT, study_date TEXT, body_part TEXT,"
    " manufacturer TEXT, model TEXT, institution TEXT, error TEXT)"
)
n = 0
with conn:
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = os.path.join(dirpath, name)
            n += 1
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
                g = lambda k: str(ds.get(k, "")) or None
                row = (path, g("PatientID"), g("StudyInstanceUID"), g("SeriesInstanceUID"),
                       g("SOPInstanceUID"), g("Modality"), g("StudyDate"), g("BodyPartExamined"),
                       g("Manufacturer"), g("ManufacturerModelName"), g("InstitutionName"), None)
            except Exception as e:  # noqa: BLE001 - a peer indexer records and goes on
                row = (path,) + (None,) * 10 + (str(e)[:200],)
            conn.execute("INSERT OR REPLACE INTO instances VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
secs = time.perf_counter() - start
print(json.dumps({"files": n, "seconds": secs, "files_per_second": n / secs}))
