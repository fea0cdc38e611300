#!/usr/bin/env python3
"""Differential check of Dozor's Sigma engine against pySigma's SQLite backend.

The OTRF events are loaded into SQLite (one column per field, text compared without
case, as Sigma compares), every SigmaHQ Windows rule whose logsource the table below
knows is converted by pySigma 2 with a logsource pipeline that restates Dozor's
content/logsources.yml, and the (rule, event) matches are compared with the alerts of
`dozor hunt`. Differences must be explained in the known-differences file; anything
else fails.

usage: pysigma_otrf.py OTRF_DIR RULES_DIR ALERTS_JSONL KNOWN_YAML
"""

import json
import re
import sqlite3
import sys
import zipfile
from collections import defaultdict
from pathlib import Path

import yaml
from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.processing.conditions import LogsourceCondition
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import AddConditionTransformation, FieldMappingTransformation

SYSMON = "Microsoft-Windows-Sysmon/Operational"
# (product, service, category) -> conditions; the same mapping as content/logsources.yml.
SYSMON_CATEGORIES = {
    "process_creation": [1], "file_change": [2], "network_connection": [3],
    "sysmon_status": [4, 16], "process_termination": [5], "driver_load": [6],
    "image_load": [7], "create_remote_thread": [8], "raw_access_thread": [9],
    "process_access": [10], "file_event": [11], "registry_add": [12],
    "registry_delete": [12], "registry_set": [13], "registry_rename": [14],
    "registry_event": [12, 13, 14], "create_stream_hash": [15], "pipe_created": [17, 18],
    "wmi_event": [19, 20, 21], "dns_query": [22], "file_delete": [23],
    "clipboard_capture": [24], "process_tampering": [25], "file_delete_detected": [26],
    "sysmon_error": [255],
}
SERVICES = {
    "security": "Security", "system": "System", "application": "Application",
    "powershell": "Microsoft-Windows-PowerShell/Operational",
    "powershell-classic": "Windows PowerShell",
    "windefend": "Microsoft-Windows-Windows Defender/Operational",
    "taskscheduler": "Microsoft-Windows-TaskScheduler/Operational",
    "wmi": "Microsoft-Windows-WMI-Activity/Operational",
    "bits-client": "Microsoft-Windows-Bits-Client/Operational",
    "sysmon": SYSMON,
}
POWERSHELL = {"ps_script": ("Microsoft-Windows-PowerShell/Operational", [4104]),
              "ps_module": ("Microsoft-Windows-PowerShell/Operational", [4103]),
              "ps_classic_start": ("Windows PowerShell", [400]),
              "ps_classic_provider_start": ("Windows PowerShell", [600]),
              "ps_classic_script": ("Windows PowerShell", [800])}


def pipeline():
    items = []
    for category, ids in SYSMON_CATEGORIES.items():
        items.append(ProcessingItem(
            identifier=f"sysmon_{category}",
            transformation=AddConditionTransformation({"Channel": SYSMON, "EventID": ids}),
            rule_conditions=[LogsourceCondition(category=category, product="windows")]))
    for category, (channel, ids) in POWERSHELL.items():
        items.append(ProcessingItem(
            identifier=f"ps_{category}",
            transformation=AddConditionTransformation({"Channel": channel, "EventID": ids}),
            rule_conditions=[LogsourceCondition(category=category, product="windows")]))
    for service, channel in SERVICES.items():
        items.append(ProcessingItem(
            identifier=f"service_{service}",
            transformation=AddConditionTransformation({"Channel": channel}),
            rule_conditions=[LogsourceCondition(service=service, product="windows")]))
    # NXLog and the OTRF sets name the provider SourceName; Dozor reads it as Sigma's
    # Provider_Name, and so must the SQL side.
    items.append(ProcessingItem(identifier="provider_name",
                                transformation=FieldMappingTransformation({"Provider_Name": "SourceName"})))
    return ProcessingPipeline(name="dozor logsources", priority=10, items=items)


def comparable(rule):
    ls = rule.logsource
    if ls.product != "windows":
        return False
    if ls.category:
        return ls.category in SYSMON_CATEGORIES or ls.category in POWERSHELL
    return ls.service in SERVICES


def load_events(otrf):
    rows = []
    for archive in sorted(Path(otrf).glob("*.zip")):
        with zipfile.ZipFile(archive) as z:
            for member in sorted(z.namelist()):
                if member.endswith("/") or "__MACOSX/" in member:
                    continue
                for raw in z.read(member).split(b"\n"):
                    line = raw.decode("utf-8").rstrip("\r")
                    if line.strip():
                        rows.append((line, json.loads(line)))
    return rows


def text(value):
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_db(rows):
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, lambda p, v: v is not None and re.search(p, v) is not None, deterministic=True)
    # SQLite column names ignore case: keys differing only in case share a column.
    columns = {}
    for _, d in rows:
        for k in d:
            columns.setdefault(k.lower(), k)
    names = sorted(columns)
    quoted = ", ".join(f'"{columns[c]}" TEXT COLLATE NOCASE' for c in names)
    db.execute(f"CREATE TABLE logs (row_id INTEGER PRIMARY KEY, {quoted})")
    listed = ", ".join(f'"{columns[c]}"' for c in names)
    marks = ", ".join("?" for _ in names)

    def values(i, d):
        lowered = {k.lower(): v for k, v in d.items() if v is not None}
        return (i, *[text(lowered[c]) if c in lowered else None for c in names])

    db.executemany(f"INSERT INTO logs (row_id, {listed}) VALUES (?, {marks})",
                   (values(i, d) for i, (_, d) in enumerate(rows)))
    db.execute('CREATE INDEX channel_event ON logs ("Channel", "EventID")')
    return db


def run(db, query):
    """Runs a query; a field no event has becomes an empty column, as it is for Dozor."""
    for _ in range(20):
        try:
            return [row_id for (row_id,) in db.execute(query)]
        except sqlite3.OperationalError as e:
            missing = re.match(r"no such column: (.+)", str(e))
            if not missing:
                raise
            db.execute(f'ALTER TABLE logs ADD COLUMN "{missing.group(1)}" TEXT COLLATE NOCASE')
    raise RuntimeError(f"too many missing columns in {query}")


def main():
    otrf, rules_dir, alerts_file, known_file = sys.argv[1:5]
    rows = load_events(otrf)
    db = build_db(rows)
    by_body = defaultdict(list)
    for i, (line, _) in enumerate(rows):
        by_body[line].append(i)
    backend = sqliteBackend(processing_pipeline=pipeline())
    theirs = defaultdict(set)
    compared, skipped = [], defaultdict(int)
    for path in sorted(Path(rules_dir).rglob("*.yml")):
        try:
            collection = SigmaCollection.from_yaml(path.read_text())
        except Exception as e:  # pySigma refuses the file
            skipped[f"pySigma cannot parse: {type(e).__name__}"] += 1
            continue
        for rule in collection.rules:
            if not comparable(rule):
                skipped["logsource outside the table"] += 1
                continue
            try:
                queries = backend.convert_rule(rule)
            except Exception as e:
                skipped[f"pySigma cannot convert: {type(e).__name__}"] += 1
                continue
            rule_id = str(rule.id)
            compared.append(rule_id)
            for query in queries:
                query = query.replace("SELECT * FROM", "SELECT row_id FROM", 1)
                for row_id in run(db, query):
                    theirs[rule_id].add(row_id)
    ours = defaultdict(set)
    with open(alerts_file) as f:
        for line in f:
            alert = json.loads(line)
            rule_id = alert["rule"]["id"]
            for event in alert["events"]:
                ours[rule_id].update(by_body[event["body"]])
    known = yaml.safe_load(Path(known_file).read_text()) or {}
    known = {str(k): v for k, v in known.items()}
    unexplained, explained, agree, matches = [], [], 0, 0
    for rule_id in compared:
        a, b = ours.get(rule_id, set()), theirs.get(rule_id, set())
        matches += len(a)
        if a == b:
            agree += 1
            continue
        line = f"{rule_id}: dozor only {len(a - b)}, pySigma only {len(b - a)}"
        (explained if rule_id in known else unexplained).append(line)
    print(f"events {len(rows)}, rules compared {len(compared)}, identical {agree}, "
          f"explained differences {len(explained)}, unexplained {len(unexplained)}, dozor matches {matches}")
    for reason, n in sorted(skipped.items()):
        print(f"  not compared: {n} rules: {reason}")
    for line in explained:
        print(f"  explained: {line}")
    for line in unexplained:
        print(f"  UNEXPLAINED: {line}")
    sys.exit(1 if unexplained else 0)


if __name__ == "__main__":
    main()
