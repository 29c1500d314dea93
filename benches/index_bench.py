#!/usr/bin/env python3
"""Indexing benchmark: pacs-cohort vs a plain pydicom indexer vs the I/O floor.

Usage: python3 benches/index_bench.py [--files 20000] [--scale] [--out bench-out]

Builds the release binary, generates archives with `pacs-cohort synth`,
warms the page cache, then measures in one run:
  - our cold index (fresh database) and our re-scan of the unchanged archive
  - a plain pydicom indexer (benches/pydicom_indexer.py, in a throwaway venv)
  - the floor: stat-only walk, and open + read 8 KiB + close of every file
  - with --scale: our cold index at 10,000 and at 100,000 files
Prints a markdown table (paste it into BENCHMARKS.md) with peak RSS.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BIN = os.path.join(REPO, "target", "release", "pacs-cohort")
FILES_PER_PATIENT = 7.5  # measured mean of the generator with --max-slices 4


def run(cmd, **kw):
    """Runs cmd under /usr/bin/time; returns (stdout, wall seconds, peak RSS MB)."""
    rss_file = os.path.join(os.environ.get("TMPDIR", "/tmp"), "pacs-bench-rss")
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd,
                         check=False, capture_output=True, text=True, **kw)
    secs = time.perf_counter() - start
    if out.returncode not in (0, 3):
        sys.exit(f"failed: {' '.join(cmd)}\n{out.stderr}")
    with open(rss_file) as f:
        rss_kb = int(f.read().strip().splitlines()[-1])
    return out.stdout, secs, rss_kb / 1024.0


def archive(out, files, seed):
    path = os.path.join(out, f"archive-{files}")
    marker = path + ".complete"
    if not os.path.exists(marker):
        shutil.rmtree(path, ignore_errors=True)
        patients = max(1, int(files / FILES_PER_PATIENT))
        subprocess.run([BIN, "synth", "--patients", str(patients), "--seed", str(seed), "--out", path], check=True)
        open(marker, "w").close()
    return path


def count_files(path):
    return sum(len(f) for _, _, f in os.walk(path))


def ours(path, db, label, repeats=3):
    """Cold index into a fresh database; the median of `repeats` runs."""
    runs = []
    for _ in range(repeats):
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        out, secs, rss = run([BIN, "--db", db, "index", "--json", path])
        runs.append((secs, rss, json.loads(out)))
    runs.sort(key=lambda r: r[0])
    secs, rss, s = runs[len(runs) // 2]
    return {"what": label + f" (median of {repeats})", "files": s["files_seen"], "seconds": secs, "rss": rss, "summary": s}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=20000)
    ap.add_argument("--scale", action="store_true", help="also compare 10k vs 100k files")
    ap.add_argument("--out", default=os.path.join(REPO, "bench-out"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)

    venv = os.path.join(a.out, "venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([py, "-m", "pip", "install", "--quiet", "pydicom"], check=True)
    pydicom_version = subprocess.run([py, "-c", "import pydicom;print(pydicom.__version__)"],
                                     capture_output=True, text=True).stdout.strip()

    path = archive(a.out, a.files, 7)
    n = count_files(path)
    run([BIN, "bench-floor", path, "--read"])  # warm the page cache
    rows = []
    out, secs, _ = run([BIN, "bench-floor", path])
    rows.append({"what": "floor: stat-only walk", "files": n, "seconds": json.loads(out)["seconds"], "rss": None})
    out, secs, _ = run([BIN, "bench-floor", path, "--read"])
    rows.append({"what": "floor: open + read 8 KiB + close (2 threads)", "files": n, "seconds": json.loads(out)["seconds"], "rss": None})
    db = os.path.join(a.out, "ws.db")
    cold = ours(path, db, "pacs-cohort cold index")
    cold["what"] = "pacs-cohort cold index"
    rows.append(cold)
    out, secs, rss = run([BIN, "--db", db, "index", "--json", path])
    rescan = json.loads(out)
    rows.append({"what": "pacs-cohort re-scan (unchanged)", "files": rescan["files_seen"], "seconds": secs, "rss": rss})
    pdb = os.path.join(a.out, "pydicom.db")
    if os.path.exists(pdb):
        os.remove(pdb)
    out, secs, rss = run([py, os.path.join(HERE, "pydicom_indexer.py"), path, pdb])
    rows.append({"what": f"pydicom {pydicom_version} indexer (stop_before_pixels, one transaction)", "files": n, "seconds": secs, "rss": rss})

    fps = {r["what"]: r["files"] / r["seconds"] for r in rows}
    print(f"\nMachine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores; "
          f"{time.strftime('%Y-%m-%d')}; archive {n} files, warm page cache\n")
    print("| what | files | seconds | files/s | peak RSS MB |")
    print("|---|---:|---:|---:|---:|")
    for r in rows:
        rss = f"{r['rss']:.0f}" if r.get("rss") else "-"
        print(f"| {r['what']} | {r['files']} | {r['seconds']:.3f} | {r['files'] / r['seconds']:,.0f} | {rss} |")
    cold_fps = fps["pacs-cohort cold index"]
    py_fps = [v for k, v in fps.items() if k.startswith("pydicom")][0]
    print("\n| ratio | value | target |")
    print("|---|---:|---|")
    print(f"| cold index / pydicom indexer | {cold_fps / py_fps:.1f}x | >= 20x |")
    print(f"| read floor / cold index | {fps['floor: open + read 8 KiB + close (2 threads)'] / cold_fps:.2f}x | <= 3x |")
    print(f"| re-scan time / stat walk time | {rows[3]['seconds'] / rows[0]['seconds']:.2f}x | <= 3x |")
    print("\n(pacs-cohort rows: median of 3 runs; peers and floors: one run after a warm-up pass)")

    if a.scale:
        small_path, big_path = archive(a.out, 10000, 11), archive(a.out, 100000, 13)
        for p in (small_path, big_path):
            run([BIN, "bench-floor", p, "--read"])  # warm the page cache
        small = ours(small_path, os.path.join(a.out, "s10k.db"), "10k")
        big = ours(big_path, os.path.join(a.out, "s100k.db"), "100k")
        f10 = small["files"] / small["seconds"]
        f100 = big["files"] / big["seconds"]
        print("\n| scaling | files | seconds | files/s | peak RSS MB |")
        print("|---|---:|---:|---:|---:|")
        for r in (small, big):
            print(f"| cold index {r['what']} | {r['files']} | {r['seconds']:.2f} | {r['files'] / r['seconds']:,.0f} | {r['rss']:.0f} |")
        print(f"\nfiles/s at 100k / files/s at 10k: {f100 / f10:.2f} (target >= 0.80)")


if __name__ == "__main__":
    main()
