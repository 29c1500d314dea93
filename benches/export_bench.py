#!/usr/bin/env python3
"""De-identified export throughput: pacs-cohort vs dicognito vs pydicom/deid
on the same files, in one run (issue #5).

Usage: python3 benches/export_bench.py [--patients 300] [--out bench-out]

Generates an archive with `pacs-cohort synth` (no fault files), indexes it,
saves a cohort of everything, and times: our `export` (which includes the
residual-PHI scan of every written file), `dicognito -o OUT SRC`, and deid's
`replace_identifiers` with its default recipe. Peers run from a throwaway
venv (pip install dicognito deid). Prints files/s and MB/s of input.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
# PACS_COHORT_BIN: an already built release binary (skips the build, e.g.
# one built with its own CARGO_TARGET_DIR while debug work goes on).
BIN = os.environ.get("PACS_COHORT_BIN") or os.path.join(REPO, "target", "release", "pacs-cohort")


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - start
    if out.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr[-2000:]}")
    return secs, out.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=300)
    ap.add_argument("--out", default=os.path.join(REPO, "bench-out"))
    a = ap.parse_args()
    if not os.environ.get("PACS_COHORT_BIN"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    venv = os.path.join(a.out, "venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([py, "-m", "pip", "install", "--quiet", "pydicom", "dicognito", "deid"], check=True)
    versions = subprocess.run([py, "-m", "pip", "show", "dicognito", "deid"], capture_output=True, text=True).stdout
    work = os.path.join(a.out, "export-bench")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    src = os.path.join(work, "archive")
    subprocess.run([BIN, "synth", "--patients", str(a.patients), "--seed", "31", "--out", src], check=True, capture_output=True)
    files = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs]
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    db = os.path.join(work, "ws.db")
    subprocess.run([BIN, "--db", db, "index", src], capture_output=True)
    spec = os.path.join(work, "all.json")
    with open(spec, "w") as f:
        f.write('{"schema_version":1,"name":"all","rules":[]}')
    subprocess.run([BIN, "--db", db, "cohort", "save", "--spec", spec], check=True, capture_output=True)
    subprocess.run([BIN, "bench-floor", src, "--read"], capture_output=True)  # warm cache
    rows = []
    secs, out = timed([BIN, "--db", db, "export", "--cohort", "all", "--out", os.path.join(work, "ours"), "--json"])
    report = json.loads(out)
    assert report["complete"], "our export must pass its own scan"
    rows.append(("pacs-cohort export (incl. residual-PHI scan)", report["written"], secs))
    # The same with a mask on every image: every file decoded (RLE, JPEG,
    # deflate included), masked and written uncompressed. Not a peer
    # comparison (the peers do not mask pixels); shows what masking costs.
    import sqlite3
    con = sqlite3.connect(db)
    con.execute("INSERT INTO pixel_masks(sop_instance_uid, x, y, width, height) "
                "SELECT sop_uid, 0, 0, min(columns, 32), min(rows, 8) FROM instances WHERE rows > 0 AND columns > 0")
    con.commit()
    con.close()
    secs, out = timed([BIN, "--db", db, "export", "--cohort", "all", "--out", os.path.join(work, "ours-masked"), "--json"])
    report = json.loads(out)
    assert report["complete"], "the masked export must pass its own scan"
    masked_row = ("pacs-cohort export, every image masked (not compared)", report["written"], secs)
    secs, _ = timed([py, "-m", "dicognito", "--quiet", "-o", os.path.join(work, "dicognito"), src])
    rows.append(("dicognito", len(files), secs))
    secs, out = timed([py, os.path.join(HERE, "deid_peer.py"), src, os.path.join(work, "deid")])
    rows.append(("pydicom/deid replace_identifiers (default recipe)", json.loads(out)["written"], secs))
    print(f"\n{time.strftime('%Y-%m-%d')}; {os.cpu_count()} cores; {len(files)} files, {mb:.1f} MB; warm cache")
    print(" ".join(l for l in versions.splitlines() if l.startswith(("Name", "Version"))))
    print("\n| tool | files | seconds | files/s | MB/s |")
    print("|---|---:|---:|---:|---:|")
    for name, n, s in rows:
        print(f"| {name} | {n} | {s:.2f} | {n / s:,.0f} | {mb / s:.1f} |")
    name, n, s = masked_row
    print(f"| {name} | {n} | {s:.2f} | {n / s:,.0f} | {mb / s:.1f} |")
    ours = rows[0][1] / rows[0][2]
    best_peer = max(r[1] / r[2] for r in rows[1:])
    print(f"\nours / faster peer: {ours / best_peer:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
