#!/usr/bin/env python3
"""Detection throughput, side by side: `dozor hunt` and RSigma on the same rules and
events, on one core, alternating runs; reports events/s, the median ratio, peak memory,
user and system time, the size of each engine's output, Dozor's speed-up with
`--threads` set to every core beside the speed-up the cores give (see
timed_side_by_side), whether the per-rule match counts are identical, and detection
cost as a multiple of parsing cost (`dozor hunt` with no rules: read, JSON decode,
normalization, with the Sysmon mapping deferred as in the detection runs).

Lanes:
  process_creation  Sysmon EventID 1 of the OTRF sample, replicated to ~60k events,
                    against SigmaHQ rules/windows/process_creation
  mixed             every OTRF record, against every SigmaHQ Windows rule
                    (RSigma with its sysmon pipeline, after a pipeline that gives it
                    Dozor's logsource routing: see write_rsigma_pipeline)

The timed runs write their output to /dev/null, and one more run of each engine writes
it to a file, whose matches are compared. Writing to a new file makes the kernel find a
fresh page for every 4 KiB, and on this project's virtual machines that varies far
more than the engines do: `dd` copying Dozor's 391 MB output of the first lane to a
new file took from 0.17 to 1.5 s of system time within minutes (at 16 KiB to 8 MiB
blocks alike), and overwriting the same file in place 0.08 s. That is the sink, not
the engines; the output sizes are reported beside the times, the file runs are
printed, and `--sink file` times runs that each write a new file.

usage: bench/compare.py [--runs N] [--lanes process_creation,mixed]
       [--dozor target/release/dozor] [--rsigma rsigma] [--work DIR] [--sink null|file]
       [--no-strict]

RSigma 0.23.0: cargo install --locked rsigma --version 0.23.0
Needs PyYAML (to read the rules' logsources).
"""
import argparse
import collections
import contextlib
import filecmp
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "testdata")
SIGMA = os.path.join(SHARED, "sigmahq", "rules", "windows")

LANES = {
    "process_creation": ("process_creation.ndjson", os.path.join(SIGMA, "process_creation"), None),
    "mixed": ("mixed.ndjson", SIGMA, "sysmon"),
}


# Dozor's logsource derivation (content/logsources.yml) for Windows events, as a
# processing pipeline RSigma applies before its sysmon pipeline, so that both engines
# give rules the same events: services by channel (services Dozor does not route get a
# channel no event has), and the OTRF (NXLog) names of the System fields that Dozor
# maps to Sigma's (Provider_Name, Computer). With `strict`, also Sysmon categories only
# for Sysmon's channel and PowerShell categories by EventID: the exact equivalent, but
# RSigma runs about ten times slower with a second condition on its category rules, so
# the timed runs use the pipeline without it and the strict one runs once, to compare
# matches.
SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"


def service_channels():
    """Windows service -> channel, as content/logsources.yml derives services."""
    import yaml

    with open(os.path.join(ROOT, "content", "logsources.yml"), encoding="utf-8") as f:
        entries = yaml.safe_load(f)
    channels = {"sysmon": SYSMON_CHANNEL}
    for entry in entries:
        when, source = entry["when"], entry["logsource"]
        if list(when) == ["event_src.subsys"] and "service" in source:
            channels[source["service"]] = when["event_src.subsys"]
    return channels


POWERSHELL_CATEGORIES = {
    "ps_script": 4104,
    "ps_module": 4103,
    "ps_classic_start": 400,
    "ps_classic_provider_start": 600,
    "ps_classic_script": 800,
}


def rule_logsources(rules_dir):
    """The (category, service) pairs of the Windows rules under rules_dir."""
    import yaml

    found = set()
    for root, _, files in os.walk(rules_dir):
        for name in files:
            if not name.endswith((".yml", ".yaml")):
                continue
            with open(os.path.join(root, name), encoding="utf-8") as f:
                for doc in yaml.safe_load_all(f):
                    source = (doc or {}).get("logsource") or {}
                    found.add((source.get("category"), source.get("service")))
    return found


def write_rsigma_pipeline(rules_dir, path, strict):
    items = [{
        "id": "otrf_system_fields",
        "type": "field_name_mapping",
        "mapping": {"Provider_Name": "SourceName", "Computer": "Hostname"},
    }]
    sources = rule_logsources(rules_dir)
    channels = service_channels()
    for service in sorted({s for _, s in sources if s}):
        channel = channels.get(service, f"(no channel: {service})")
        items.append({
            "id": f"service_{service}",
            "type": "add_condition",
            "conditions": {"Channel": channel},
            "rule_conditions": [{"type": "logsource", "product": "windows", "service": service}],
        })
    for category in sorted({c for c, _ in sources if c and strict}):
        if category in POWERSHELL_CATEGORIES:
            conditions = {"EventID": POWERSHELL_CATEGORIES[category]}
        else:
            conditions = {"Channel": SYSMON_CHANNEL}
        items.append({
            "id": f"category_{category}",
            "type": "add_condition",
            "conditions": conditions,
            "rule_conditions": [{"type": "logsource", "product": "windows", "category": category}],
        })
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"name": "dozor_logsources", "priority": 5, "transformations": items}, f, indent=1)


def timed(cmd, stdout_path, cores="0"):
    """Runs cmd pinned to `cores` (one core unless told); returns (seconds, peak RSS
    MiB, user seconds, system seconds)."""
    with open(stdout_path, "wb") as out:
        result = subprocess.run(
            ["/usr/bin/time", "-f", "%e %M %U %S", "taskset", "-c", cores, *cmd],
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
        )
    last = result.stderr.decode(errors="replace").strip().splitlines()[-1]
    seconds, kib, user, system = last.split()
    if result.returncode not in (0, 1):
        sys.exit(f"{cmd[0]} failed ({result.returncode}): {result.stderr.decode(errors='replace')[-2000:]}")
    return float(seconds), int(kib) / 1024, float(user), float(system)


def timed_side_by_side(cmd, cores, stdout_path):
    """Runs one copy of cmd per core, each pinned to its own and writing where
    stdout_path(core) says (as the one-core runs write, see --sink), all at once;
    returns the seconds until the last ends. A virtual machine's cores need not add
    up: two one-thread runs side by side can each take longer than one alone (shared
    caches, memory bandwidth, a host that runs something else on the second core). N
    copies side by side do N runs' work in this time, so N x (one run alone) / (this
    time) is the speed-up the cores give to work that shares nothing: the ceiling of
    any `--threads N` speed-up, measured in the same minute."""
    with contextlib.ExitStack() as stack:
        outputs = [stack.enter_context(open(stdout_path(core), "wb")) for core in range(cores)]
        started = time.monotonic()
        runs = [subprocess.Popen(["taskset", "-c", str(core), *cmd], stdout=out,
                                 stderr=subprocess.DEVNULL) for core, out in enumerate(outputs)]
        codes = [run.wait() for run in runs]
        seconds = time.monotonic() - started
    if any(code not in (0, 1) for code in codes):
        sys.exit(f"{cmd[0]} failed side by side: exit codes {codes}")
    return seconds


def dozor_counts(path):
    counts = collections.Counter()
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                alert = json.loads(line)
                counts[alert["rule"]["id"]] += 1
    return counts


def rsigma_counts(path):
    counts = collections.Counter()
    with open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            line = line.strip()
            if not line.startswith("{"):
                continue
            match = json.loads(line)
            title = match.get("rule_id") or match.get("rule_title")
            if title is not None:
                counts[title] += 1
    return counts


def count_lines(path):
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--lanes", default="process_creation,mixed")
    parser.add_argument("--dozor", default=os.path.join(ROOT, "target", "release", "dozor"))
    parser.add_argument("--rsigma", default="rsigma")
    parser.add_argument("--work", default=None)
    parser.add_argument("--sink", choices=("null", "file"), default="null",
                        help="where the timed runs write their output: /dev/null (the default; "
                        "one more run of each engine writes a file to compare the matches) or "
                        "a new file each run")
    parser.add_argument("--no-strict", action="store_true",
                        help="skip the mixed lane's one RSigma run with the strict pipeline "
                        "(about four minutes here) and compare the timed pipeline's matches, "
                        "which differ from Dozor's by the one non-Sysmon event with EventID 19")
    args = parser.parse_args()
    work = args.work or tempfile.mkdtemp(prefix="dozor-bench-")
    corpus = os.path.join(work, "corpus")
    if not os.path.exists(os.path.join(corpus, "mixed.ndjson")):
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make-corpus.py"),
                        os.path.join(SHARED, "otrf"), corpus], check=True)
    empty = os.path.join(work, "no-rules")
    os.makedirs(empty, exist_ok=True)
    rows = []
    for lane in args.lanes.split(","):
        events_file, rules, pipeline = LANES[lane]
        events_path = os.path.join(corpus, events_file)
        events = count_lines(events_path)
        dozor_cmd = [args.dozor, "hunt", "--no-builtin", "--rules", rules, "--threads", "1",
                     "--output", "jsonl", "--format", "json", events_path]
        parse_cmd = [args.dozor, "hunt", "--no-builtin", "--rules", empty, "--threads", "1",
                     "--output", "jsonl", "--format", "json", events_path]
        rsigma_cmd = [args.rsigma, "engine", "eval", "-r", rules, "-e", "@" + events_path]
        strict_cmd = None
        if pipeline:
            ours = os.path.join(work, f"{lane}.pipeline.yml")
            write_rsigma_pipeline(rules, ours, strict=False)
            if not args.no_strict:
                strict = os.path.join(work, f"{lane}.strict-pipeline.yml")
                write_rsigma_pipeline(rules, strict, strict=True)
                strict_cmd = rsigma_cmd[:3] + ["-p", strict, "-p", pipeline] + rsigma_cmd[3:]
            rsigma_cmd[3:3] = ["-p", ours, "-p", pipeline]
        threads = os.cpu_count() or 1
        all_cores = f"0-{threads - 1}"
        threaded_cmd = dozor_cmd[:]
        threaded_cmd[threaded_cmd.index("--threads") + 1] = str(threads)
        times = {"dozor": [], "rsigma": [], "parse": [], "threaded": [], "side_by_side": []}
        memory = {"dozor": [], "rsigma": []}
        user = {"dozor": [], "rsigma": []}
        system = {"dozor": [], "rsigma": []}
        def sink(name):
            """Where a timed run of `name` writes (see --sink)."""
            return os.devnull if args.sink == "null" else os.path.join(work, f"{lane}.{name}.out")

        for run in range(args.runs):
            for name, cmd in (("dozor", dozor_cmd), ("rsigma", rsigma_cmd), ("parse", parse_cmd)):
                seconds, mib, user_s, system_s = timed(cmd, sink(name))
                times[name].append(seconds)
                if name in memory:
                    memory[name].append(mib)
                    user[name].append(user_s)
                    system[name].append(system_s)
                print(f"{lane} run {run + 1}: {name} {seconds:.2f} s (user {user_s:.2f}, system "
                      f"{system_s:.2f}), {mib:.0f} MiB", file=sys.stderr)
            if threads > 1:
                seconds, *_ = timed(threaded_cmd, sink("threaded"), all_cores)
                times["threaded"].append(seconds)
                print(f"{lane} run {run + 1}: dozor --threads {threads} {seconds:.2f} s", file=sys.stderr)
                seconds = timed_side_by_side(dozor_cmd, threads, lambda core: sink(f"side{core}"))
                times["side_by_side"].append(seconds)
                print(f"{lane} run {run + 1}: {threads} one-thread dozor runs side by side {seconds:.2f} s",
                      file=sys.stderr)
        written = {}
        if args.sink == "null":
            # The matches are compared on one more run of each engine, into a file.
            for name, cmd in (("dozor", dozor_cmd), ("rsigma", rsigma_cmd)):
                seconds, _, user_s, system_s = timed(cmd, os.path.join(work, f"{lane}.{name}.out"))
                written[name] = seconds
                print(f"{lane}: {name} writing its output to a file {seconds:.2f} s (user {user_s:.2f}, "
                      f"system {system_s:.2f})", file=sys.stderr)
        threads_identical = None
        if threads > 1:
            # The threaded run's output, byte for byte the one-thread run's (with
            # --sink file, the timed runs wrote both files).
            if args.sink == "null":
                timed(threaded_cmd, os.path.join(work, f"{lane}.threaded.out"), all_cores)
            threads_identical = filecmp.cmp(os.path.join(work, f"{lane}.dozor.out"),
                                            os.path.join(work, f"{lane}.threaded.out"), shallow=False)
        ours = dozor_counts(os.path.join(work, f"{lane}.dozor.out"))
        theirs = rsigma_counts(os.path.join(work, f"{lane}.rsigma.out"))
        timed_identical = ours == theirs
        if strict_cmd:
            seconds, *_ = timed(strict_cmd, os.path.join(work, f"{lane}.rsigma-strict.out"))
            print(f"{lane}: rsigma with the strict pipeline {seconds:.2f} s", file=sys.stderr)
            if not timed_identical:
                for rule in sorted(set(ours) | set(theirs)):
                    if ours[rule] != theirs[rule]:
                        print(f"  timed run differs: {rule}: dozor {ours[rule]}, rsigma {theirs[rule]}",
                              file=sys.stderr)
            theirs = rsigma_counts(os.path.join(work, f"{lane}.rsigma-strict.out"))
        identical = ours == theirs
        if not identical:
            differing = sorted(set(ours) | set(theirs), key=lambda t: -abs(ours[t] - theirs[t]))
            for title in differing[:15]:
                if ours[title] != theirs[title]:
                    print(f"  differs: {title}: dozor {ours[title]}, rsigma {theirs[title]}", file=sys.stderr)
        med = {k: statistics.median(v) for k, v in times.items() if v}
        rows.append({
            "lane": lane,
            "events": events,
            "dozor_eps": events / med["dozor"],
            "rsigma_eps": events / med["rsigma"],
            "ratio": med["rsigma"] / med["dozor"],
            "identical": identical,
            "compared": "timed pipeline" if pipeline and not strict_cmd else None,
            "matches": sum(ours.values()),
            "rsigma_matches": sum(theirs.values()),
            "detect_over_parse": max(med["dozor"] - med["parse"], 0.0) / med["parse"],
            "dozor_mib": statistics.median(memory["dozor"]),
            "rsigma_mib": statistics.median(memory["rsigma"]),
            "dozor_user": statistics.median(user["dozor"]),
            "dozor_system": statistics.median(system["dozor"]),
            "rsigma_user": statistics.median(user["rsigma"]),
            "rsigma_system": statistics.median(system["rsigma"]),
            "threads": threads,
            "speedup": med["dozor"] / med["threaded"] if "threaded" in med else None,
            "ceiling": threads * med["dozor"] / med["side_by_side"] if "side_by_side" in med else None,
            "threads_identical": threads_identical,
            "dozor_file_s": written.get("dozor"),
            "rsigma_file_s": written.get("rsigma"),
            "dozor_output_mb": os.path.getsize(os.path.join(work, f"{lane}.dozor.out")) / 1e6,
            "rsigma_output_mb": os.path.getsize(os.path.join(work, f"{lane}.rsigma.out")) / 1e6,
        })
    print("| lane | events | dozor events/s | RSigma events/s | ratio (median) | matches identical | detection / parse cost | peak MiB (dozor / RSigma) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['lane']} | {r['events']:,} | {r['dozor_eps']:,.0f} | {r['rsigma_eps']:,.0f} | "
              f"{r['ratio']:.2f}x | {'yes' if r['identical'] else 'no'} ({r['matches']:,} / {r['rsigma_matches']:,}"
              f"{', ' + r['compared'] if r['compared'] else ''}) | "
              f"{r['detect_over_parse']:.1f}x | {r['dozor_mib']:.0f} / {r['rsigma_mib']:.0f} |")
    print()
    print("| lane | dozor user / system s | RSigma user / system s | output MB (dozor / RSigma) | one run writing a file, s (dozor / RSigma) | dozor on all cores |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        file_runs = ("—" if r["dozor_file_s"] is None
                     else f"{r['dozor_file_s']:.2f} / {r['rsigma_file_s']:.2f}")
        scaling = ("—" if r["speedup"] is None
                   else f"{r['speedup']:.2f}x with --threads {r['threads']} of the cores' "
                   f"{r['ceiling']:.2f}x ({r['speedup'] / r['ceiling']:.0%}), output "
                   f"{'identical' if r['threads_identical'] else 'DIFFERENT'}")
        print(f"| {r['lane']} | {r['dozor_user']:.2f} / {r['dozor_system']:.2f} | "
              f"{r['rsigma_user']:.2f} / {r['rsigma_system']:.2f} | "
              f"{r['dozor_output_mb']:.0f} / {r['rsigma_output_mb']:.0f} | {file_runs} | {scaling} |")


if __name__ == "__main__":
    main()
