#!/usr/bin/env python3
"""Builds the detection benchmark's corpora from the OTRF Security-Datasets sample in
../shared/testdata/otrf (one JSON event per line inside each zip):

  process_creation.ndjson  the Sysmon EventID 1 records, replicated to about 60,000 events
  mixed.ndjson             every record of the sample (Sysmon 1/3/7/10/11/12/13/22,
                           Security, PowerShell, ...), once

usage: make-corpus.py OTRF_DIR OUT_DIR [TARGET_PROCESS_EVENTS]
"""
import glob
import json
import os
import sys
import zipfile


def records(otrf_dir):
    for path in sorted(glob.glob(os.path.join(otrf_dir, "*.zip"))):
        with zipfile.ZipFile(path) as archive:
            for name in sorted(archive.namelist()):
                if "__MACOSX" in name or name.endswith("/"):
                    continue
                for line in archive.read(name).splitlines():
                    line = line.strip()
                    if not line:
                        continue
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(event, dict):
                        yield line, event


def is_process_creation(event):
    channel = str(event.get("Channel", ""))
    source = str(event.get("SourceName", ""))
    sysmon = "Sysmon" in channel or "Sysmon" in source
    return sysmon and str(event.get("EventID")) == "1"


def main():
    otrf_dir, out_dir = sys.argv[1], sys.argv[2]
    target = int(sys.argv[3]) if len(sys.argv) > 3 else 60000
    os.makedirs(out_dir, exist_ok=True)
    process = []
    with open(os.path.join(out_dir, "mixed.ndjson"), "wb") as mixed:
        for line, event in records(otrf_dir):
            mixed.write(line + b"\n")
            if is_process_creation(event):
                process.append(line)
    if not process:
        sys.exit("no Sysmon EventID 1 records found")
    copies = max(1, round(target / len(process)))
    with open(os.path.join(out_dir, "process_creation.ndjson"), "wb") as out:
        for _ in range(copies):
            for line in process:
                out.write(line + b"\n")
    print(f"process_creation.ndjson: {len(process)} records x {copies} = {len(process) * copies}")


if __name__ == "__main__":
    main()
