#!/usr/bin/env python3
"""Cohort counts on the Parquet export (DuckDB, Spark SQL) against the app's.

Issue 18's gate: `cohort sql --dialect ansi` over the tables `export-index`
writes must give exactly the level counts and attrition cells that
`cohort count` gives on the workspace, for random definitions over the
whole index schema (every index criterion, all/any/not nested, first/last,
follow-up windows, include and exclude, every unit).

The workspace is a synthetic index (`synth-index`) with edge cases written
into it by SQL: missing dates, ages, sexes and modalities, lower-case
values, descriptions with punctuation and quotes, same-day studies (the
first/last tie-break), patients without studies, ages over 89.

Usage: lake_parity.py --bin target/debug/pacs-cohort [--definitions 300]
       [--seed 18] [--spark 40] [--work DIR]
Exit status 0 when every count agrees; 1 with the first disagreements
(definition JSON and both answers) otherwise; 2 when an engine is missing.
"""

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def make_workspace(bin_, work, patients, seed):
    db = os.path.join(work, "ws.db")
    run([bin_, "--db", db, "synth-index", "--patients", str(patients),
         "--seed", str(seed), "--max-slices", "4"])
    con = sqlite3.connect(db)
    rnd = random.Random(seed)
    studies = [r[0] for r in con.execute("SELECT id FROM studies")]
    touched = set()

    def some(ids, share):
        return rnd.sample(ids, max(1, int(len(ids) * share)))

    for sid in some(studies, 0.05):
        con.execute("UPDATE studies SET study_date = NULL WHERE id = ?", (sid,))
    for sid in some(studies, 0.05):
        con.execute("UPDATE studies SET age_at_study_years = NULL WHERE id = ?", (sid,))
    for sid in some(studies, 0.03):
        con.execute("UPDATE studies SET age_at_study_years = 91 + ? WHERE id = ?",
                    (rnd.randint(0, 10), sid))
    texts = ["CT-CHEST/ABDOMEN (w contrast)", "o'brien protocol", "Thorax_HR 1.5mm",
             "MRI  knee,left", "Ünïcode Brain", "LUNG^SCREEN"]
    for sid in some(studies, 0.04):
        con.execute("UPDATE studies SET description = ? WHERE id = ?",
                    (rnd.choice(texts), sid))
    for sid in some(studies, 0.03):
        con.execute("UPDATE studies SET description = NULL WHERE id = ?", (sid,))
    series = [r[0] for r in con.execute("SELECT id FROM series")]
    for sid in some(series, 0.03):
        con.execute("UPDATE series SET modality = NULL WHERE id = ?", (sid,))
        touched.add(sid)
    for sid in some(series, 0.03):
        con.execute("UPDATE series SET modality = lower(modality), body_part = lower(body_part) WHERE id = ?", (sid,))
        touched.add(sid)
    for sid in some(series, 0.03):
        con.execute("UPDATE series SET description = ?, manufacturer = NULL WHERE id = ?",
                    (rnd.choice(texts), sid))
        touched.add(sid)
    patients = [r[0] for r in con.execute("SELECT id FROM patients")]
    for pid in some(patients, 0.04):
        con.execute("UPDATE patients SET sex = NULL WHERE id = ?", (pid,))
    # Same-day studies: a patient's second study moved to the first's day.
    pairs = con.execute(
        "SELECT min(id), max(id) FROM studies GROUP BY patient_ref HAVING count(*) >= 2").fetchall()
    for lo, hi in rnd.sample(pairs, max(1, len(pairs) // 6)):
        con.execute("UPDATE studies SET study_date = (SELECT study_date FROM studies WHERE id = ?) WHERE id = ?",
                    (lo, hi))
    # Patients without studies.
    for k in range(5):
        con.execute("INSERT INTO patients(issuer, patient_id, sex) VALUES ('', ?, ?)",
                    (f"NOSTUDY{k}", rnd.choice(["F", "M", None])))
    # The per-study facts of studies whose series changed are dropped (the
    # app then computes them exactly), and the full-text index takes the
    # new texts.
    con.execute(
        f"UPDATE studies SET facts_modalities = NULL, facts_body_parts = NULL, facts_contrast = NULL "
        f"WHERE id IN (SELECT study_ref FROM series WHERE id IN ({','.join(map(str, touched)) or '0'}))")
    con.execute("""INSERT INTO text_terms(text)
        SELECT DISTINCT t FROM (SELECT description AS t FROM studies UNION SELECT description FROM series
                                UNION SELECT protocol_name FROM series)
        WHERE t IS NOT NULL AND t NOT IN (SELECT text FROM text_terms)""")
    con.commit()
    return db


def values(con):
    def distinct(sql):
        return [r[0] for r in con.execute(sql) if r[0] is not None]
    return {
        "modality": distinct("SELECT DISTINCT modality FROM series"),
        "body_part": distinct("SELECT DISTINCT body_part FROM series"),
        "sex": ["F", "M", "O"],
        "institution": distinct("SELECT DISTINCT institution_name FROM series"),
        "station": distinct("SELECT DISTINCT station_name FROM series"),
        "manufacturer": distinct("SELECT DISTINCT manufacturer FROM series"),
        "model": distinct("SELECT DISTINCT model_name FROM series"),
        "sop_class": distinct("SELECT DISTINCT sop_class_uid FROM instances"),
        "words": sorted({w for (t,) in con.execute(
            "SELECT description FROM studies UNION SELECT description FROM series") if t
            for w in t.replace("/", " ").replace("_", " ").split()}),
        "dates": distinct("SELECT study_date FROM studies WHERE study_date IS NOT NULL"),
    }


def criterion(rnd, v, depth):
    kinds = ["modality", "body_part", "sex", "institution", "station", "manufacturer", "model",
             "sop_class", "study_date", "age", "slice_thickness_mm", "series_count",
             "instance_count", "study_description", "series_description", "protocol_name",
             "contrast"]
    if depth < 3:
        kinds += ["all", "any", "not", "first_of", "last_of", "follow_up"] * 2
    k = rnd.choice(kinds)

    def pick(key):
        vals = v[key]
        chosen = rnd.sample(vals, min(len(vals), rnd.randint(1, 3))) if vals else []
        if rnd.random() < 0.2:
            chosen = [c.lower() for c in chosen]
        if rnd.random() < 0.1 or not chosen:
            chosen.append("NOPE'\\")
        return chosen

    def num_range(lo, hi):
        digits = rnd.choice([0, 1])
        a, b = sorted([round(rnd.uniform(lo, hi), digits), round(rnd.uniform(lo, hi), digits)])
        r = {}
        if rnd.random() < 0.8:
            r["min"] = a
        if rnd.random() < 0.8 or not r:
            r["max"] = b
        return r

    if k in ("modality", "body_part", "sex", "institution", "station", "manufacturer", "model",
             "sop_class"):
        return {k: pick(k)}
    if k == "study_date":
        a, b = sorted(rnd.sample(v["dates"], 2))
        r = {}
        if rnd.random() < 0.8:
            r["from"] = a
        if rnd.random() < 0.8 or not r:
            r["to"] = b
        return {k: r}
    if k == "age":
        return {k: num_range(0, 100)}
    if k == "slice_thickness_mm":
        return {k: num_range(0, 6)}
    if k == "series_count":
        return {k: num_range(0, 5)}
    if k == "instance_count":
        return {k: num_range(0, 12)}
    if k in ("study_description", "series_description", "protocol_name"):
        words = rnd.sample(v["words"], rnd.randint(1, 2))
        words = [w[: rnd.randint(1, len(w))] if rnd.random() < 0.4 else w for w in words]
        return {k: " ".join(words)}
    if k == "contrast":
        return {k: rnd.random() < 0.5}
    if k in ("all", "any"):
        return {k: [criterion(rnd, v, depth + 1) for _ in range(rnd.randint(0, 3))]}
    if k in ("not", "first_of", "last_of"):
        return {k: criterion(rnd, v, depth + 1)}
    fu = {"criterion": criterion(rnd, v, depth + 1)}
    lo = rnd.choice([-400, -30, 0, 1, 90.5, 180])
    if rnd.random() < 0.8:
        fu["min_days"] = lo
    if rnd.random() < 0.8 or "min_days" not in fu:
        fu["max_days"] = lo + rnd.choice([0, 30, 365, 2000])
    return {"follow_up": fu}


def definition(rnd, v, i):
    unit = rnd.choice(["patient", "study", "series"])
    rules = []
    for r in range(rnd.randint(1, 4)):
        c = criterion(rnd, v, 0)
        if unit == "patient" and r == 0 and rnd.random() < 0.4:
            c = {rnd.choice(["first_of", "last_of"]): criterion(rnd, v, 1)}
        rules.append({"name": f"rule {r + 1} o'k", "exclude": rnd.random() < 0.3, "criterion": c})
    return {"schema_version": 1, "name": f"random {i}", "unit": unit, "rules": rules}


def app_counts(bin_, db, spec_path):
    out = json.loads(run([bin_, "--db", db, "cohort", "count", "--spec", spec_path, "--json"]).stdout)
    levels = [out["levels"][k]["count"] for k in ("patients", "studies", "series", "instances")]
    funnel = [out["population"]["count"]] + [
        (s["remaining"]["count"], s["removed"]["count"], s["removed_alone"]["count"])
        for s in out["attrition"]]
    return levels, funnel


def engine_counts(execute, sql):
    levels = [int(x) for x in execute(sql["count"]["sql"])[0]]
    rows = execute(sql["attrition"]["sql"])
    funnel = [int(rows[0][3])] + [(int(r[3]), int(r[4]), int(r[5])) for r in rows[1:]]
    return levels, funnel


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fixed_definitions():
    """The README's `cohort sql` example and benches/specs/*.json."""
    out = []
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    start = readme.index("cat > adults-ct.json <<'EOF'\n") + len("cat > adults-ct.json <<'EOF'\n")
    block = readme[start:readme.index("    EOF\n", start)]
    out.append(json.loads("\n".join(line[4:] for line in block.splitlines())))
    specs = os.path.join(REPO, "benches", "specs")
    for name in sorted(os.listdir(specs)):
        if name.endswith(".json"):
            with open(os.path.join(specs, name), encoding="utf-8") as f:
                out.append(json.load(f))
    return out


SQLGLOT_DIALECTS = ("spark", "trino", "duckdb", "postgres")


def parse_everywhere(sqlglot, sql):
    """The dialects in which sqlglot cannot parse a statement."""
    bad = []
    for dialect in SQLGLOT_DIALECTS:
        try:
            sqlglot.parse(sql, read=dialect, error_level=sqlglot.ErrorLevel.RAISE)
        except Exception as e:  # sqlglot's ParseError and TokenError
            bad.append(f"{dialect}: {str(e).splitlines()[0][:200]}")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--definitions", type=int, default=300)
    ap.add_argument("--spark", type=int, default=40, help="definitions also run on Spark (0: none)")
    ap.add_argument("--patients", type=int, default=600)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--work")
    a = ap.parse_args()
    try:
        import duckdb
    except ImportError:
        print("error: the duckdb Python package is missing (pip install duckdb)", file=sys.stderr)
        return 2
    try:
        import sqlglot
    except ImportError:
        print("error: the sqlglot Python package is missing (pip install sqlglot)", file=sys.stderr)
        return 2
    bin_ = os.path.abspath(a.bin)
    work = a.work or tempfile.mkdtemp(prefix="lake-parity-")
    os.makedirs(work, exist_ok=True)
    db = make_workspace(bin_, work, a.patients, a.seed)
    v = values(sqlite3.connect(db))
    rnd = random.Random(a.seed)
    # The README's example and the benchmark's definitions first, so that
    # they also run on Spark, then random ones.
    defs = fixed_definitions() + [definition(rnd, v, i) for i in range(a.definitions)]
    failures = []
    timings = {}
    # Counts on the workspace must equal counts on an export with PHI and
    # on a private export whose dates are kept (shifted dates move date
    # ranges by design; ages over 89 and cleaned descriptions are the
    # private export's documented differences, so those criteria are
    # compared on the PHI export only).
    lakes = {}
    for label, flags in (("phi", ["--with-phi"]), ("private", ["--full-dates"])):
        lake = os.path.join(work, f"lake-{label}")
        shutil.rmtree(lake, ignore_errors=True)
        run([bin_, "--db", db, "export-index", "--out", lake] + flags)
        lakes[label] = lake

    def private_safe(spec):
        text = json.dumps(spec)
        return not any(k in text for k in ('"age"', '_description"', '"protocol_name"'))

    sqls = []
    for i, spec in enumerate(defs):
        path = os.path.join(work, f"def{i}.json")
        with open(path, "w") as f:
            json.dump(spec, f)
        app = app_counts(bin_, db, path)
        sql = json.loads(run([bin_, "cohort", "sql", "--spec", path, "--json"]).stdout)
        sqls.append((i, spec, path, app, sql))
        for part in ("count", "attrition"):
            for problem in parse_everywhere(sqlglot, sql[part]["sql"]):
                failures.append(("sqlglot", part, spec, "parses", problem))
    print(f"sqlglot: {2 * len(sqls)} statements parsed as {', '.join(SQLGLOT_DIALECTS)}")

    def check(engine, execute, items, label):
        t0 = time.time()
        n = 0
        for i, spec, path, app, sql in items:
            try:
                got = engine_counts(execute, sql)
            except Exception as e:  # noqa: BLE001: report, do not stop
                failures.append((engine, label, spec, app, f"error: {e}"))
                continue
            n += 1
            if got != app:
                failures.append((engine, label, spec, app, got))
        timings[f"{engine}/{label}"] = (n, time.time() - t0)

    for label, lake in lakes.items():
        con = duckdb.connect()
        views = run([bin_, "cohort", "sql", "--spec", sqls[0][2], "--views", "duckdb", "--lake", lake,
                     "--json"]).stdout
        con.execute(json.loads(views)["views"])
        items = [s for s in sqls if label == "phi" or private_safe(s[1])]
        check("duckdb", lambda q: con.execute(q).fetchall(), items, label)

    if a.spark:
        try:
            from pyspark.sql import SparkSession
        except ImportError:
            print("error: pyspark is missing (pip install pyspark; needs Java 17)", file=sys.stderr)
            return 2
        spark = (SparkSession.builder.master("local[2]").appName("lake-parity")
                 .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
                 .config("spark.sql.shuffle.partitions", "4").getOrCreate())
        spark.sparkContext.setLogLevel("ERROR")
        views = run([bin_, "cohort", "sql", "--spec", sqls[0][2], "--views", "spark", "--lake",
                     lakes["phi"], "--json"]).stdout
        for stmt in json.loads(views)["views"].split(";"):
            if stmt.strip():
                spark.sql(stmt)
        check("spark", lambda q: [tuple(r) for r in spark.sql(q).collect()], sqls[: a.spark], "phi")
        spark.stop()

    for k, (n, secs) in timings.items():
        print(f"{k}: {n} definitions in {secs:.1f} s")
    if failures:
        for engine, label, spec, app, got in failures[:5]:
            print(f"DISAGREE {engine} ({label} export): {json.dumps(spec)}\n  app:    {app}\n  engine: {got}")
        print(f"parity: {len(failures)} disagreement(s)")
        return 1
    total = sum(n for n, _ in timings.values())
    print(f"parity: {total} counts equal (levels and every attrition cell), 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
