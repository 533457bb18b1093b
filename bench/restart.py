#!/usr/bin/env python3
"""Restart time and memory of `payrec serve` on an existing database: starts the binary, polls
GET /readyz until it answers 200 (the clock runs from the spawn), reads VmRSS, optionally sends
keyed report_payment calls and reads VmRSS again, then stops it with SIGTERM. Repeats --runs
times and prints one line per run (the server's log goes to restart-N.log in the current folder).

    python3 bench/restart.py target/release/payrec sqlite://payrec-bench-XXXX.db --runs 5 --keyed 2000
"""

import argparse
import base64
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def get(url, key=None):
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", "Basic " + base64.b64encode((key + ":").encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def report(base, key):
    body = "amount_requested[currency]=usd&amount_requested[value]=1000&initiated_at=1730211300&payment_method_details[type]=custom"
    request = urllib.request.Request(base + "/v1/payment_records/report_payment", data=body.encode(), method="POST")
    request.add_header("Authorization", "Basic " + base64.b64encode((key + ":").encode()).decode())
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    request.add_header("Idempotency-Key", str(uuid.uuid4()))
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("database_url")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keyed", type=int, default=0, help="keyed reports after the start, before the second RSS")
    args = parser.parse_args()
    env = dict(os.environ, DATABASE_URL=args.database_url, RUST_LOG=os.environ.get("RUST_LOG", "info"))
    key = "sk_test_restartbench"
    for run in range(args.runs):
        started = time.monotonic()
        log = open(f"restart-{run + 1}.log", "w")
        proc = subprocess.Popen(
            [args.binary, "serve", "--listen", "127.0.0.1:0", "--accept-any-key"],
            env=env, stdout=subprocess.PIPE, stderr=log, text=True,
        )
        base = None
        for line in proc.stdout:
            m = re.search(r"payrec listening on (http://\S+)", line)
            if m:
                base = m.group(1)
                break
        if base is None:
            sys.exit(f"payrec exited before listening (see restart-{run + 1}.log)")
        while get(base + "/readyz") != 200:
            time.sleep(0.005)
        ready_ms = (time.monotonic() - started) * 1000
        rss_ready = rss_mb(proc.pid)
        for _ in range(args.keyed):
            report(base, key)
        rss_after = rss_mb(proc.pid)
        stopping = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        stop_ms = (time.monotonic() - stopping) * 1000
        log.close()
        loaded = [l for l in open(f"restart-{run + 1}.log") if "key index loaded" in l]
        print(loaded[0].strip() if loaded else "(no index line)")
        print(f"run {run + 1}: ready in {ready_ms:.0f} ms; RSS {rss_ready:.1f} MB when ready, "
              f"{rss_after:.1f} MB after {args.keyed} keyed reports; stopped in {stop_ms:.0f} ms", flush=True)


if __name__ == "__main__":
    main()
