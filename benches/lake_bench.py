#!/usr/bin/env python3
"""`pacs-cohort export-index` on a large synthetic index: wall time, rows/s,
peak memory (RSS, from /usr/bin/time or getrusage of the child), Parquet
size against the SQLite file; then the benchmark's count definition
(benches/specs/count5.json: CT, chest, age 40-80, women, 2018-2024) as
`cohort count` on SQLite (the app's path) against the same count written
by hand for DuckDB over the export (when the `duckdb` module is importable,
e.g. from a throwaway venv), in the same run. The export is written with
--full-dates so the date criterion counts the same on both.

Usage:
  PACS_COHORT_BIN=target/release/pacs-cohort python3 benches/lake_bench.py \
      --db /tmp/bench-1m.db [--repeats 5]
The database comes from
  pacs-cohort --db DB synth-index --patients 56000 --seed 21 --max-slices 13
"""
import argparse, json, os, resource, statistics, subprocess, tempfile, time

BIN = os.environ.get("PACS_COHORT_BIN", "target/release/pacs-cohort")
HERE = os.path.dirname(os.path.abspath(__file__))

DUCKDB_COUNT5 = """
WITH st AS (SELECT * FROM read_parquet('{d}/studies/**/*.parquet', hive_partitioning = true)),
     p AS (SELECT * FROM read_parquet('{d}/patients/*.parquet')),
     s AS (SELECT * FROM read_parquet('{d}/series/**/*.parquet', hive_partitioning = true))
SELECT count(*) FROM st JOIN p ON p.patient_id = st.patient_id
WHERE st.study_id IN (SELECT study_id FROM s WHERE modality = 'CT')
  AND st.study_id IN (SELECT study_id FROM s WHERE upper(trim(body_part)) = 'CHEST')
  AND st.age_at_study_years BETWEEN 40 AND 80
  AND p.sex = 'F'
  AND st.study_date BETWEEN DATE '2018-01-01' AND DATE '2024-12-31'
"""


def du(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def timed(cmd):
    t = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--repeats", type=int, default=5)
    a = ap.parse_args()
    out = tempfile.mkdtemp(prefix="lake-bench-")
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    secs, text = timed([BIN, "--db", a.db, "export-index", "--out", out, "--full-dates", "--json"])
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = json.loads(text)
    instances = report["rows"]["instances"]
    sqlite_bytes = os.path.getsize(a.db)
    lake_bytes = du(out)
    print("| measure | value |")
    print("|---|---:|")
    print(f"| instance rows | {instances:,} |")
    print(f"| export wall time | {secs:.2f} s |")
    print(f"| instance rows/s (end to end) | {instances / secs:,.0f} |")
    print(f"| peak RSS of the export | {max(peak_kb, before) / 1024:.0f} MB |")
    print(f"| SQLite file | {sqlite_bytes / 1e6:.0f} MB |")
    print(f"| Parquet folder | {lake_bytes / 1e6:.0f} MB ({100 * lake_bytes / sqlite_bytes:.0f}% of SQLite) |")

    spec = os.path.join(HERE, "specs", "count5.json")
    ours = []
    for _ in range(a.repeats):
        s, text = timed([BIN, "--db", a.db, "cohort", "count", "--spec", spec, "--json"])
        ours.append(s)
    ours_count = json.loads(text)["levels"]["studies"]["count"]
    print(f"| count5 `cohort count` on SQLite, p50 of {a.repeats} (process included) | {statistics.median(ours) * 1000:.0f} ms ({ours_count} studies) |")
    try:
        import duckdb
    except ImportError:
        print("| count5 on DuckDB | not run: `pip install duckdb` in a venv |")
        return
    con = duckdb.connect()
    con.execute("SET threads = 2")
    runs = []
    for _ in range(a.repeats):
        t = time.perf_counter()
        n = con.execute(DUCKDB_COUNT5.format(d=out)).fetchone()[0]
        runs.append(time.perf_counter() - t)
    print(f"| count5 on DuckDB over the export, p50 of {a.repeats} (in process, 2 threads) | {statistics.median(runs) * 1000:.0f} ms ({n} studies) |")
    if n != ours_count:
        print(f"\nMISMATCH: SQLite {ours_count}, DuckDB {n}")


if __name__ == "__main__":
    main()
