#!/usr/bin/env python3
"""PostgreSQL restarted under load: `payrec serve` on a fresh schema, 8 clients sending keyed
report_payment calls for --seconds, and `pg_ctlcluster <version> main restart -m immediate` run
--restarts times in between. Prints the answers by status and checks that every acknowledged
record is there afterwards. Needs root (pg_ctlcluster) and a local cluster.

    python3 bench/pg_restart.py target/release/payrec postgres://postgres@127.0.0.1:5432/test
"""

import argparse
import base64
import collections
import json
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid


def call(base, key, method, path, body=None, idem=None):
    request = urllib.request.Request(base + path, data=body.encode() if body else None, method=method)
    request.add_header("Authorization", "Basic " + base64.b64encode((key + ":").encode()).decode())
    if body:
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
    if idem:
        request.add_header("Idempotency-Key", idem)
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")
    except OSError as e:
        return "transport:" + type(e).__name__, None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("admin_url")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--restarts", type=int, default=2)
    parser.add_argument("--version", default="15")
    args = parser.parse_args()
    schema = "payrec_pg_restart"
    subprocess.run(["psql", args.admin_url, "-qc", f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"], check=True)
    sep = "&" if "?" in args.admin_url else "?"
    url = f"{args.admin_url}{sep}options=-c%20search_path%3D{schema}"
    proc = subprocess.Popen([args.binary, "serve", "--listen", "127.0.0.1:0", "--pg-acquire-timeout-secs", "2"],
                            env={"DATABASE_URL": url, "RUST_LOG": "warn", "PATH": "/usr/bin:/bin"},
                            stdout=subprocess.PIPE, stderr=open("pg_restart.log", "w"), text=True)
    key = base = None
    for line in proc.stdout:
        if line.strip().startswith("test mode: "):
            key = line.split(": ", 1)[1].strip()
        m = re.search(r"payrec listening on (http://\S+)", line)
        if m:
            base = m.group(1)
            break
    statuses = collections.Counter()
    acknowledged = []
    lock = threading.Lock()
    stop = time.monotonic() + args.seconds
    body = "amount_requested[currency]=usd&amount_requested[value]=1000&initiated_at=1730211300&payment_method_details[type]=custom"

    def client():
        while time.monotonic() < stop:
            status, answer = call(base, key, "POST", "/v1/payment_records/report_payment", body, str(uuid.uuid4()))
            with lock:
                statuses[status] += 1
                if status == 200:
                    acknowledged.append(answer["id"])

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    gap = args.seconds / (args.restarts + 1)
    for _ in range(args.restarts):
        time.sleep(gap)
        started = time.monotonic()
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", args.version, "main", "restart", "-m", "immediate"], check=True)
        print(f"restarted PostgreSQL in {time.monotonic() - started:.1f} s", flush=True)
    for t in threads:
        t.join()
    missing = [i for i in acknowledged if call(base, key, "GET", f"/v1/payment_records/{i}")[0] != 200]
    ready = call(base, key, "GET", "/readyz")[0]
    proc.terminate()
    proc.wait()
    subprocess.run(["psql", args.admin_url, "-qc", f"DROP SCHEMA {schema} CASCADE"], check=True)
    print("answers by status:", dict(statuses))
    print(f"acknowledged {len(acknowledged)}, missing afterwards {len(missing)}; /readyz at the end {ready}")


if __name__ == "__main__":
    main()
