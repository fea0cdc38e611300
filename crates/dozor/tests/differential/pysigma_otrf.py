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

import gc
import json
import multiprocessing
import os
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


def regexp(pattern, value):
    return value is not None and re.search(pattern, value) is not None


def column(name):
    """A column of the events' table: text, compared without case, as Sigma compares."""
    return f'"{name}" TEXT COLLATE NOCASE'


def connect():
    db = sqlite3.connect(":memory:")
    db.create_function("REGEXP", 2, regexp, deterministic=True)
    return db


def with_table(names):
    """A new database whose empty events' table has these columns."""
    db = connect()
    db.execute(f"CREATE TABLE logs (row_id INTEGER PRIMARY KEY, {', '.join(map(column, names))})")
    return db


def columns_read(queries):
    """The columns the queries read, by preparing each against an empty table and
    adding the column SQLite names as missing until it prepares. The table then holds
    only these: a row of every field the events have (368 here) made inserting and
    scanning take minutes."""
    # The two the table's index is on, read by every query the pipeline writes.
    columns = {"channel": "Channel", "eventid": "EventID"}
    db = with_table(columns.values())
    for query in queries:
        while True:
            try:
                db.execute(query).fetchall()
                break
            except sqlite3.OperationalError as e:
                missing = re.match(r"no such column: (.+)", str(e))
                if not missing:
                    raise
                name = missing.group(1)
                # SQLite column names ignore case: fields differing only in case share one.
                if name.lower() in columns:
                    raise RuntimeError(f"column {name} still missing in {query}") from e
                columns[name.lower()] = name
                db.execute(f"ALTER TABLE logs ADD COLUMN {column(name)}")
    return columns


def build_db(rows, columns):
    """The events as a table of the columns given (lowercased name -> name); a field
    no event has is an empty column, as it is for Dozor. Rows are inserted in groups
    that set the same columns, each naming only those: binding every column of every
    row, nulls included, took most of a minute."""
    db = with_table(columns.values())
    groups = defaultdict(list)
    for i, (_, d) in enumerate(rows):
        # Nulls are left out, and of a row's fields whose names differ only in case
        # the last one set wins.
        row = {}
        for k, v in d.items():
            name = columns.get(k.lower())
            if name is not None and v is not None:
                row[name] = text(v)
        groups[tuple(row)].append((i, *row.values()))
    for names, values in groups.items():
        listed = "".join(f', "{name}"' for name in names)
        marks = ", ?" * len(names)
        db.executemany(f"INSERT INTO logs (row_id{listed}) VALUES (?{marks})", values)
    db.execute('CREATE INDEX channel_event ON logs ("Channel", "EventID")')
    return db


def rule_queries(rules_dir):
    """(rule id, its SQL queries) of every rule pySigma converts, and why the others
    are not compared."""
    backend = sqliteBackend(processing_pipeline=pipeline())
    # pySigma's from_yaml with libyaml's loader when PyYAML has it: the same
    # documents, read about ten times faster than by the pure-Python one.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    converted, skipped = [], defaultdict(int)
    for path in sorted(Path(rules_dir).rglob("*.yml")):
        try:
            collection = SigmaCollection.from_dicts(list(yaml.load_all(path.read_text(), Loader=loader)))
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
            converted.append((str(rule.id), [
                query.replace("SELECT * FROM", "SELECT row_id FROM", 1) for query in queries]))
    return converted, skipped


# The events' table in a query worker (see rule_matches).
worker_db = None


def open_copy(data):
    global worker_db
    worker_db = connect()
    worker_db.deserialize(data)


def match_rule(item):
    rule_id, queries = item
    return rule_id, {row_id for query in queries for (row_id,) in worker_db.execute(query)}


def rule_matches(db, converted):
    """rule id -> the row ids its queries select, the rules shared out among one
    worker per core, each with its own copy of the table (a query is one scan of
    it; a few take seconds)."""
    data = db.serialize()
    # Out of the workers' garbage collection, which would otherwise visit (and so copy
    # from the parent) every object of the events read.
    gc.freeze()
    matches = defaultdict(set)
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 1, open_copy, (data,)) as pool:
        # Rules sharing an id pool their matches, as they share Dozor's alerts.
        for rule_id, row_ids in pool.imap_unordered(match_rule, converted):
            matches[rule_id] |= row_ids
    return matches


def main():
    otrf, rules_dir, alerts_file, known_file = sys.argv[1:5]
    converted, skipped = rule_queries(rules_dir)
    rows = load_events(otrf)
    db = build_db(rows, columns_read(q for _, queries in converted for q in queries))
    by_body = defaultdict(list)
    for i, (line, _) in enumerate(rows):
        by_body[line].append(i)
    theirs = rule_matches(db, converted)
    compared = [rule_id for rule_id, _ in converted]
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
    sys.stdout.flush()
    # Without the interpreter's teardown, which frees every event read one by one.
    os._exit(1 if unexplained else 0)


if __name__ == "__main__":
    main()
