#!/usr/bin/env python3
"""Preview decode + window/level latency: pacs-cohort vs pydicom + numpy on
the same pixels, in one run (issue #11).

Usage: python3 benches/preview_bench.py [--runs 200] [--out bench-out]

Writes the generated 512 x 512 16-bit CT slice (`pacs-cohort bench-preview
--write-images`, native and RLE), encodes the same pixels as JPEG 2000
lossless with pydicom + pylibjpeg-openjpeg, and takes the JPEG lossless case
from tests/fixtures/codecs/JPEG-LL.dcm (1024 x 256 16-bit: the same number of
pixels; this stack cannot encode JPEG lossless). Then times, per file and
in-process for both: decode one frame + Modality LUT + the PS3.3 linear
window to RGBA8, and a re-window of the cached values. Peer: pydicom
(+ pylibjpeg for the compressed ones) and numpy from a throwaway venv.
Prints a Markdown table with p50/p95 and the ratio peer/ours at p50.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BIN = os.environ.get("PACS_COHORT_BIN") or os.path.join(REPO, "target", "release", "pacs-cohort")

PEER = r'''
import json, sys, time
import numpy as np
import pydicom
from pydicom.pixels import apply_modality_lut, pixel_array

PRESETS = [(-600.0, 1500.0), (50.0, 350.0), (400.0, 1800.0), (40.0, 80.0), (40.0, 400.0)]

def window_rgba(values, center, width, monochrome1):
    # PS3.3 C.11.2.1.2.1, linear, to 0-255, as RGBA8.
    width = max(width, 1.0)
    low = center - 0.5 - (width - 1.0) / 2.0
    high = center - 0.5 + (width - 1.0) / 2.0
    g = ((values - (center - 0.5)) / (width - 1.0) + 0.5) * 255.0
    g = np.where(values <= low, 0.0, np.where(values > high, 255.0, g))
    g = np.clip(np.rint(g), 0, 255).astype(np.uint8)
    if monochrome1:
        g = 255 - g
    out = np.empty(g.shape + (4,), dtype=np.uint8)
    out[..., 0] = g
    out[..., 1] = g
    out[..., 2] = g
    out[..., 3] = 255
    return out

def pct(v):
    v = sorted(v)
    p = lambda q: v[round((len(v) - 1) * q)]
    return {"runs": len(v), "p50_ms": p(0.5), "p95_ms": p(0.95), "max_ms": p(1.0)}

runs = int(sys.argv[1])
results = []
for path in sys.argv[2:]:
    ds = pydicom.dcmread(path)
    def decode_window():
        # Decodes every time (Dataset.pixel_array caches the first result).
        arr = pixel_array(ds)
        values = apply_modality_lut(arr, ds).astype(np.float32)
        c = float(ds.WindowCenter) if "WindowCenter" in ds else float(values.min() + values.max()) / 2
        w = float(ds.WindowWidth) if "WindowWidth" in ds else float(values.max() - values.min())
        return values, window_rgba(values, c, w, ds.PhotometricInterpretation == "MONOCHROME1")
    values, _ = decode_window()
    t = []
    for _ in range(runs):
        s = time.perf_counter()
        decode_window()
        t.append((time.perf_counter() - s) * 1e3)
    r = []
    for i in range(runs):
        c, w = PRESETS[i % len(PRESETS)]
        s = time.perf_counter()
        window_rgba(values, c, w, False)
        r.append((time.perf_counter() - s) * 1e3)
    results.append({"file": path, "decode_window": pct(t), "rewindow": pct(r)})
print(json.dumps({"pydicom": pydicom.__version__, "numpy": np.__version__, "results": results}))
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--out", default=os.path.join(REPO, "bench-out"))
    a = ap.parse_args()
    if not os.environ.get("PACS_COHORT_BIN"):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    venv = os.path.join(a.out, "preview-venv")
    py = os.path.join(venv, "bin", "python")
    if not os.path.exists(py):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([py, "-m", "pip", "install", "--quiet", "pydicom", "numpy", "pylibjpeg",
                    "pylibjpeg-libjpeg", "pylibjpeg-openjpeg"], check=True)
    work = os.path.join(a.out, "preview-bench")
    os.makedirs(work, exist_ok=True)
    subprocess.run([BIN, "bench-preview", "--write-images", work], check=True, capture_output=True)
    native = os.path.join(work, "ct_native.dcm")
    j2k = os.path.join(work, "ct_j2k.dcm")
    subprocess.run([py, "-c", f'''
import pydicom
from pydicom.uid import JPEG2000Lossless
ds = pydicom.dcmread({native!r})
ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
ds.save_as({j2k!r}, enforce_file_format=True)
'''], check=True)
    files = [
        ("native (explicit VR LE)", native),
        ("RLE", os.path.join(work, "ct_rle.dcm")),
        ("JPEG lossless (JPEG-LL.dcm, 1024x256)", os.path.join(REPO, "tests", "fixtures", "codecs", "JPEG-LL.dcm")),
        ("JPEG 2000 lossless", j2k),
    ]
    paths = [p for _, p in files]
    ours = json.loads(subprocess.run([BIN, "bench-preview", "--runs", str(a.runs)] + paths,
                                     check=True, capture_output=True, text=True).stdout)
    peer = json.loads(subprocess.run([py, "-c", PEER, str(a.runs)] + paths,
                                     check=True, capture_output=True, text=True).stdout)
    print(f"pacs-cohort (rayon threads: {ours['threads']}); peer: pydicom {peer['pydicom']}, numpy {peer['numpy']}")
    print()
    print("| image | ours decode+W/L p50 / p95 (ms) | peer p50 / p95 (ms) | peer/ours | ours re-window p50 / p95 (ms) | peer p50 / p95 (ms) | peer/ours |")
    print("|---|---|---|---|---|---|---|")
    for (label, _), o, p in zip(files, ours["results"], peer["results"]):
        if "refused" in o:
            print(f"| {label} | refused: {o['refused']} | | | | | |")
            continue
        od, orw = o["decode_window"], o["rewindow"]
        pd, prw = p["decode_window"], p["rewindow"]
        print(f"| {label} | {od['p50_ms']:.2f} / {od['p95_ms']:.2f} | {pd['p50_ms']:.2f} / {pd['p95_ms']:.2f} | "
              f"{pd['p50_ms'] / od['p50_ms']:.1f}x | {orw['p50_ms']:.2f} / {orw['p95_ms']:.2f} | "
              f"{prw['p50_ms']:.2f} / {prw['p95_ms']:.2f} | {prw['p50_ms'] / orw['p50_ms']:.1f}x |")


if __name__ == "__main__":
    main()
