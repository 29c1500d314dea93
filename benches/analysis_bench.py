#!/usr/bin/env python3
"""Analyses on a large synthetic index: `pacs-cohort analyze` (the whole
command: process start, SQL aggregation, statistics, JSON/CSV/SVG/PNG
written) against a peer an epidemiologist would otherwise write: Python's
sqlite3 with hand-written GROUP BY SQL and the Wilson interval in Python
(no files written), in the same run.

Usage:
  PACS_COHORT_BIN=target/release/pacs-cohort python3 benches/analysis_bench.py \
      --db /tmp/bench-1m.db [--repeats 5]
The database comes from
  pacs-cohort --db DB synth-index --patients 56000 --seed 21 --max-slices 13
(about 1,055,821 instances); the script saves the cohorts it needs.
"""
import argparse, json, math, os, sqlite3, statistics, subprocess, tempfile, time

BIN = os.environ.get("PACS_COHORT_BIN", "target/release/pacs-cohort")

SPECS = {
    "trend: yearly studies by modality": {
        "kind": "trend", "source": "index", "time": "year", "split": "modality"},
    "prevalence: CT among patients, age group x sex x site": {
        "kind": "prevalence", "denominator": "index", "outcome": "bench-ct",
        "strata": ["age_group", "sex", "site"]},
}

BANDS = [(0, 17), (18, 39), (40, 64), (65, 79), (80, None)]


def age_case(col):
    parts = []
    for lo, hi in BANDS:
        label = f"{lo}+" if hi is None else f"{lo}-{hi}"
        cond = f"{col} >= {lo}" if hi is None else f"{col} BETWEEN {lo} AND {hi}"
        parts.append(f"WHEN {cond} THEN '{label}'")
    return "CASE " + " ".join(parts) + " END"


def wilson(x, n, z=1.959963984540054):
    p = x / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z / d * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return c - h, c + h


def peer_trend(conn):
    rows = conn.execute(
        """SELECT substr(st.study_date,1,4), coalesce(s.modality,'unknown'), count(*)
           FROM studies st JOIN (SELECT DISTINCT study_ref, modality FROM series) s
             ON s.study_ref = st.id
           WHERE st.study_date IS NOT NULL GROUP BY 1, 2""").fetchall()
    return len(rows)


def peer_prevalence(conn):
    rows = conn.execute(f"""
        WITH first AS (SELECT id, patient_ref FROM (
               SELECT id, patient_ref, row_number() OVER (PARTITION BY patient_ref
                 ORDER BY study_date IS NULL, study_date, id) rn FROM studies) WHERE rn = 1),
             ct AS (SELECT DISTINCT st.patient_ref FROM studies st JOIN series s
                      ON s.study_ref = st.id WHERE s.modality = 'CT')
        SELECT {age_case('st.age_at_study_years')}, p.sex,
               (SELECT institution_name FROM series s1 WHERE s1.study_ref = st.id
                  AND s1.institution_name IS NOT NULL ORDER BY s1.series_number, s1.id LIMIT 1),
               count(*), sum(f.patient_ref IN (SELECT patient_ref FROM ct))
        FROM first f JOIN studies st ON st.id = f.id JOIN patients p ON p.id = f.patient_ref
        GROUP BY 1, 2, 3""").fetchall()
    return [wilson(x, n) for (_, _, _, n, x) in rows if n]


def timed(fn, repeats):
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out), max(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="analysis-bench-")
    ct = os.path.join(tmp, "ct.json")
    with open(ct, "w") as f:
        json.dump({"schema_version": 1, "name": "bench-ct", "unit": "patient",
                   "rules": [{"name": "CT", "criterion": {"modality": ["CT"]}}]}, f)
    subprocess.run([BIN, "--db", a.db, "cohort", "save", "--spec", ct], check=True,
                   stdout=subprocess.DEVNULL)
    conn = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    peers = {"trend: yearly studies by modality": lambda: peer_trend(conn),
             "prevalence: CT among patients, age group x sex x site": lambda: peer_prevalence(conn)}
    print(f"{'analysis':<58} {'ours p50':>9} {'ours max':>9} {'peer p50':>9} {'ratio':>6}")
    for name, spec in SPECS.items():
        path = os.path.join(tmp, "spec.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        out = os.path.join(tmp, "out")

        def ours():
            subprocess.run([BIN, "--db", a.db, "analyze", "--spec", path, "--out", out,
                            "--release"], check=True, stdout=subprocess.DEVNULL)
        o50, omax = timed(ours, a.repeats)
        p50, _ = timed(peers[name], a.repeats)
        print(f"{name:<58} {o50*1000:>7.0f}ms {omax*1000:>7.0f}ms {p50*1000:>7.0f}ms {o50/p50:>6.2f}")


if __name__ == "__main__":
    main()
