#!/usr/bin/env python3
"""Where a keyed report_payment's PostgreSQL WAL goes, relation by relation (BENCHMARKS.md).

Starts `payrec serve` on a fresh database, makes 20 calls to warm up, takes the WAL insert LSN,
makes N keyed report_payment calls one after another (each its own commit), takes the LSN
again, and charges every WAL record between the two to the relation it names (`pg_waldump`'s
`rel …/N`, looked up as `pg_class.relfilenode = N`). Run as a user that may read the cluster's
pg_wal (root or postgres).

    python3 bench/wal_by_relation.py target/release/payrec 300
"""
import collections, re, subprocess, sys, time, urllib.request, uuid

BINARY, CALLS = sys.argv[1], int(sys.argv[2] if len(sys.argv) > 2 else 300)
DB, PORT = "payrec_walprobe", 18099
PG_BIN = "/usr/lib/postgresql/15/bin"
PG_WAL = "/var/lib/postgresql/15/main/pg_wal"
FORM = ("amount_requested[currency]=usd&amount_requested[value]=1000&initiated_at=1730211300"
        "&customer_presence=on_session&description=computer+software&payment_method_details[type]=custom"
        "&payment_method_details[custom][display_name]=newpay&payment_method_details[custom][type]=cpmt_125kjj3hn3sdf"
        "&payment_method_details[payment_method]=pm_5j23kjksibjlks&processor_details[type]=custom"
        "&processor_details[custom][payment_reference]=npp{}")


def psql(db, sql):
    return subprocess.run(["psql", "-tAqU", "postgres", "-h", "127.0.0.1", "-d", db, "-c", sql],
                          capture_output=True, text=True, check=True).stdout.strip()


def report(i):
    req = urllib.request.Request(f"http://127.0.0.1:{PORT}/v1/payment_records/report_payment",
                                 data=FORM.format(i).encode(),
                                 headers={"Authorization": "Bearer sk_test_walprobe", "Idempotency-Key": str(uuid.uuid4())})
    urllib.request.urlopen(req).read()


psql("test", f"DROP DATABASE IF EXISTS {DB}")
psql("test", f"CREATE DATABASE {DB}")
server = subprocess.Popen([BINARY, "serve", "--database-url", f"postgres://postgres@127.0.0.1:5432/{DB}",
                           "--listen", f"127.0.0.1:{PORT}", "--accept-any-key"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(100):
        try:
            report(-1)
            break
        except OSError:
            time.sleep(0.1)
    for i in range(20):
        report(i)
    start = psql("test", "SELECT pg_current_wal_insert_lsn()")
    for i in range(CALLS):
        report(1000 + i)
    end = psql("test", "SELECT pg_current_wal_insert_lsn()")
finally:
    server.terminate()
    server.wait()
dump = subprocess.run([f"{PG_BIN}/pg_waldump", "-p", PG_WAL, "-s", start, "-e", end],
                      capture_output=True, text=True).stdout
names = dict(line.split("|") for line in psql(DB, "SELECT relfilenode, relname FROM pg_class WHERE relfilenode <> 0").splitlines())
by_bytes, by_records = collections.Counter(), collections.Counter()
for line in dump.splitlines():
    size = re.search(r"len \(rec/tot\):\s*\d+/\s*(\d+)", line)
    if not size:
        continue
    rel = re.search(r"rel \d+/\d+/(\d+)", line)
    kind = re.search(r"desc: (\w+)", line)
    name = names.get(rel.group(1), "relation " + rel.group(1)) if rel else (kind.group(1) if kind else "other")
    by_bytes[name] += int(size.group(1))
    by_records[name] += 1
print(f"{sum(by_bytes.values()) / CALLS:.0f} bytes of WAL per keyed report_payment ({CALLS} calls)")
for name, total in by_bytes.most_common():
    print(f"{name:40s} {total / CALLS:8.0f} B  {by_records[name] / CALLS:5.2f} records")
psql("test", f"DROP DATABASE {DB}")
