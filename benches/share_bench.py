#!/usr/bin/env python3
"""Indexing on a latency-bound share (issue 13): pacs-cohort vs the floors.

Usage: python3 benches/share_bench.py [--bin target/release/pacs-cohort]
           [--patients 260] [--ms 1.0] [--io 16] [--out /tmp/share-bench]

Generates an archive with `pacs-cohort synth`, mounts it through
/work/shared/tools/slowfs.py (a FUSE passthrough adding --ms to every call;
needs fusepy and libfuse2; run as root or a user allowed to mount FUSE), and
measures in the same run, through the mount:
  - the floors: a 32-thread walk + open/read 8 KiB/close, and a 32-thread
    stat-only walk (/work/shared/tools/par_floor.py)
  - our cold index and unchanged re-scan, with --io-threads 1 (the
    sequential walk) and with --io-threads N
  - a plain pydicom indexer (benches/pydicom_indexer.py, in a throwaway venv;
    skipped with --no-pydicom)
Prints a markdown table for BENCHMARKS.md. Unmounts at the end.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
TOOLS = "/work/shared/tools"


def timed(cmd):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True)
    secs = time.perf_counter() - start
    if out.returncode not in (0, 3):
        sys.exit(f"failed ({out.returncode}): {' '.join(cmd)}\n{out.stderr}")
    return out.stdout, secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(REPO, "target", "release", "pacs-cohort"))
    ap.add_argument("--patients", type=int, default=260)
    ap.add_argument("--ms", type=float, default=1.0)
    ap.add_argument("--io", type=int, default=16)
    ap.add_argument("--out", default="/tmp/share-bench")
    ap.add_argument("--no-pydicom", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    src = os.path.join(a.out, "archive")
    mnt = os.path.join(a.out, "mnt")
    if not os.path.isdir(src):
        subprocess.run([a.bin, "synth", "--out", src, "--patients", str(a.patients), "--seed", "5"],
                       check=True, capture_output=True)
    os.makedirs(mnt, exist_ok=True)
    fs = subprocess.Popen([sys.executable, os.path.join(TOOLS, "slowfs.py"), src, mnt, "--ms", str(a.ms)],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if os.path.ismount(mnt):
                break
            time.sleep(0.1)
        else:
            sys.exit("slowfs did not mount")
        rows = []

        def floor(extra):
            out, _ = timed([sys.executable, os.path.join(TOOLS, "par_floor.py"), mnt, "--threads", "32"] + extra)
            m = re.match(r"(\d+) files in ([\d.]+) s", out)
            return int(m.group(1)), float(m.group(2))

        n, read_floor = floor([])
        _, stat_floor = floor(["--stat-only"])
        rows.append(("32-thread walk + open/read 8 KiB/close (par_floor.py)", read_floor))
        rows.append(("32-thread stat-only walk (par_floor.py --stat-only)", stat_floor))
        ours = {}
        for io in (1, a.io):
            db = os.path.join(a.out, f"ws-io{io}.db")
            for f in (db, db + "-wal", db + "-shm", db + ".key"):
                if os.path.exists(f):
                    os.remove(f)
            _, cold = timed([a.bin, "--db", db, "index", mnt, "--io-threads", str(io)])
            _, rescan = timed([a.bin, "--db", db, "index", mnt, "--io-threads", str(io)])
            ours[io] = (cold, rescan)
            rows.append((f"pacs-cohort cold index, --io-threads {io}", cold))
            rows.append((f"pacs-cohort unchanged re-scan, --io-threads {io}", rescan))
        if not a.no_pydicom:
            venv = os.path.join(a.out, "venv")
            py = os.path.join(venv, "bin", "python")
            if not os.path.exists(py):
                subprocess.run([sys.executable, "-m", "venv", venv], check=True)
                subprocess.run([py, "-m", "pip", "install", "--quiet", "pydicom"], check=True)
            db = os.path.join(a.out, "pydicom.db")
            if os.path.exists(db):
                os.remove(db)
            _, secs = timed([py, os.path.join(HERE, "pydicom_indexer.py"), mnt, db])
            rows.append(("plain pydicom indexer (stop_before_pixels)", secs))
        print(f"{n} files, {a.ms} ms per call, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, binary {a.bin}\n")
        print("| run | files | seconds | files/s |")
        print("|---|---|---|---|")
        for name, secs in rows:
            print(f"| {name} | {n} | {secs:.2f} | {n / secs:,.0f} |")
        cold, rescan = ours[a.io]
        print()
        print(f"| ratio (--io-threads {a.io}) | measured | target |")
        print("|---|---|---|")
        print(f"| cold index / read floor | {cold / read_floor:.2f}x | <= 1.5x |")
        print(f"| re-scan / stat-only floor | {rescan / stat_floor:.2f}x | <= 1.5x |")
    except KeyboardInterrupt:
        sys.exit("interrupted")
    finally:
        subprocess.run(["fusermount", "-u", mnt], capture_output=True)
        subprocess.run(["umount", mnt], capture_output=True)
        fs.terminate()
        fs.wait()


if __name__ == "__main__":
    main()
