#!/usr/bin/env python3
"""How long `payrec serve --ephemeral --seed FILE` takes to be ready: from the process's start to
its `payrec listening on …` line (it accepts requests from then on), and to the first answered
request with a seeded key. Usage: python3 bench/startup.py BINARY SEED_FILE [RUNS]."""

import statistics
import subprocess
import sys
import time
import urllib.request

binary, seed = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
listening, answered = [], []
for _ in range(runs):
    started = time.monotonic()
    server = subprocess.Popen(
        [binary, "serve", "--ephemeral", "--seed", seed, "--listen", "127.0.0.1:0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    base = None
    for line in server.stdout:
        if line.startswith("payrec listening on "):
            base = line.split()[3]
            break
    listening.append(time.monotonic() - started)
    request = urllib.request.Request(f"{base}/v1/payment_records", headers={"Authorization": "Bearer sk_test_123"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    answered.append(time.monotonic() - started)
    server.terminate()
    server.wait()
for name, times in (("listening", listening), ("first answer", answered)):
    ms = sorted(t * 1000 for t in times)
    print(f"{name}: median {statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms over {runs} starts")
