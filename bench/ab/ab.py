#!/usr/bin/env python3
"""A/B of two builds: runs two payrec-bench binaries alternately (ABBA order), N pairs, and prints
per scenario the median req/s and the median ratio to the ceiling of each. Extra arguments go to
payrec-bench (e.g. --scenario ceiling,report --database-url postgres://...).

    python3 bench/ab/ab.py OLD/payrec-bench NEW/payrec-bench 8 --scenario ceiling,retrieve,list
"""
import json, os, subprocess, sys, statistics
before, after, pairs = sys.argv[1], sys.argv[2], int(sys.argv[3])
extra = sys.argv[4:]
res = {"before": {}, "after": {}}
for i in range(pairs):
    for name, exe in (("before", before), ("after", after)) if i % 2 == 0 else (("after", after), ("before", before)):
        out = subprocess.run([exe, "--json", "--duration", "5", "--warmup", "1"] + extra, capture_output=True, text=True, cwd=os.environ.get("AB_DIR", "."))
        try:
            rep = json.loads(out.stdout)
        except Exception:
            print(out.stdout[-2000:], out.stderr[-2000:]); raise
        for s in rep["results"]:
            res[name].setdefault(s["scenario"], []).append((s["throughput_rps"], s.get("ratio_to_ceiling")))
        print(i, name, {s["scenario"]: round(s["throughput_rps"]) for s in rep["results"]}, flush=True)
print("scenario  before_req/s(median) after_req/s(median)  before_ratio after_ratio  change")
for sc in res["before"]:
    b = res["before"][sc]; a = res["after"][sc]
    br = statistics.median([x[1] for x in b if x[1] is not None] or [0]); ar = statistics.median([x[1] for x in a if x[1] is not None] or [0])
    bq = statistics.median([x[0] for x in b]); aq = statistics.median([x[0] for x in a])
    ch = (ar / br - 1) * 100 if br else (aq / bq - 1) * 100
    print(f"{sc:14} {bq:10.0f} {aq:10.0f}   {br:.3f} {ar:.3f}   {ch:+.1f}%")
print(json.dumps(res))
