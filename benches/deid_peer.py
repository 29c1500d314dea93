"""The pydicom/deid peer: de-identify every file of a folder with deid's
default recipe (replace_identifiers), writing to an output folder. Prints
JSON with the time taken."""
import json
import os
import sys
import time

from deid.dicom import get_files, replace_identifiers

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
files = list(get_files(src))
start = time.perf_counter()
done = replace_identifiers(dicom_files=files, save=True, output_folder=out, overwrite=True)
secs = time.perf_counter() - start
print(json.dumps({"files": len(files), "written": len(done), "seconds": secs}))
