#!/usr/bin/env python3
"""`pacs-cohort export-index` on a large synthetic index: wall time, rows/s,
peak memory (RSS, from /usr/bin/time or getrusage of the child), Parquet
size against the SQLite file; then the cohort benchmark's definitions
(benches/specs/count5.json as a live count, attrition6.json as an
attrition table) on SQLite in process (`bench-cohort`, the app's path)
against the SQL `cohort sql --dialect ansi` generates for them, run by
DuckDB over the export in process (when the `duckdb` module is importable,
e.g. from a throwaway venv) and, with --spark, by PySpark local[2], in the
same run. The export is written with --full-dates so the date criterion
counts the same everywhere; every engine's answer is compared with the
app's.

Usage:
  PACS_COHORT_BIN=target/release/pacs-cohort python3 benches/lake_bench.py \
      --db /tmp/bench-1m.db [--repeats 5] [--spark]
The database comes from
  pacs-cohort --db DB synth-index --patients 56000 --seed 21 --max-slices 13
"""
import argparse, json, os, resource, statistics, subprocess, tempfile, time

BIN = os.environ.get("PACS_COHORT_BIN", "target/release/pacs-cohort")
HERE = os.path.dirname(os.path.abspath(__file__))



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
    ap.add_argument("--spark", action="store_true", help="also time PySpark local[2]")
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

    count_spec = os.path.join(HERE, "specs", "count5.json")
    funnel_spec = os.path.join(HERE, "specs", "attrition6.json")
    _, text = timed([BIN, "--db", a.db, "bench-cohort", "--count-spec", count_spec,
                     "--attrition-spec", funnel_spec, "--repeats", str(a.repeats)])
    app = json.loads(text)
    app_levels = app["count"]["levels"]
    app_count = [app_levels[k]["count"] if isinstance(app_levels[k], dict) else app_levels[k]
                 for k in ("patients", "studies", "series", "instances")]
    # bench-cohort times the attrition table; its cells come from `cohort count`.
    funnel = json.loads(timed([BIN, "--db", a.db, "cohort", "count", "--spec", funnel_spec, "--json"])[1])
    app_funnel = [step["remaining"]["count"] for step in funnel["attrition"]]
    print(f"| count5 on SQLite (`bench-cohort`, in process), p50 of {a.repeats} | {app['count']['timing']['p50_ms']:.0f} ms |")
    print(f"| attrition6 on SQLite (`bench-cohort`, in process), p50 of {a.repeats} | {app['attrition']['timing']['p50_ms']:.0f} ms |")

    def generated(spec, engine):
        return json.loads(timed([BIN, "--db", a.db, "cohort", "sql", "--spec", spec, "--views",
                                 engine, "--lake", out, "--json"])[1])

    def p50(execute, sql):
        runs, rows = [], None
        for _ in range(a.repeats):
            t = time.perf_counter()
            rows = execute(sql)
            runs.append(time.perf_counter() - t)
        return statistics.median(runs) * 1000, rows

    def report(engine, execute, count_sql, funnel_sql):
        ms, rows = p50(execute, count_sql)
        same = [int(x) for x in rows[0]] == app_count
        print(f"| count5 on {engine}, p50 of {a.repeats} | {ms:.0f} ms ({'equal' if same else 'DIFFERENT: ' + str(rows[0])}) |")
        ms, rows = p50(execute, funnel_sql)
        same = [int(r[3]) for r in rows[1:]] == app_funnel
        print(f"| attrition6 on {engine}, p50 of {a.repeats} | {ms:.0f} ms ({'equal' if same else 'DIFFERENT'}) |")

    try:
        import duckdb
    except ImportError:
        print("| DuckDB | not run: `pip install duckdb` in a venv |")
    else:
        con = duckdb.connect()
        con.execute("SET threads = 2")
        c, f = generated(count_spec, "duckdb"), generated(funnel_spec, "duckdb")
        con.execute(c["views"])
        report("DuckDB over the export (generated SQL, in process, 2 threads)",
               lambda q: con.execute(q).fetchall(), c["count"]["sql"], f["attrition"]["sql"])
    if a.spark:
        from pyspark.sql import SparkSession
        spark = (SparkSession.builder.master("local[2]").appName("lake-bench")
                 .config("spark.ui.enabled", "false")
                 .config("spark.ui.showConsoleProgress", "false").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        c, f = generated(count_spec, "spark"), generated(funnel_spec, "spark")
        for stmt in c["views"].split(";"):
            if stmt.strip():
                spark.sql(stmt)
        run_ = lambda q: [tuple(r) for r in spark.sql(q).collect()]
        run_(c["count"]["sql"])  # warm-up: the JVM compiles on first use
        report("PySpark local[2] over the export (generated SQL, warm)", run_,
               c["count"]["sql"], f["attrition"]["sql"])
        spark.stop()

if __name__ == "__main__":
    main()
