#!/usr/bin/env python3
"""The disk's own floor for durable writes: appends BYTES and fsyncs, at RATE a second for
SECONDS, in a file in DIR (the disk being measured), and prints the latency percentiles.
payrec's SQLite writer does one such write + fsync per group commit, so a stall here is a stall
of every write queued behind it.

    python3 bench/fsync_probe.py [DIR] [RATE] [SECONDS] [BYTES]
"""
import os, sys, time

directory = sys.argv[1] if len(sys.argv) > 1 else "."
rate = float(sys.argv[2]) if len(sys.argv) > 2 else 350.0
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 10.0
size = int(sys.argv[4]) if len(sys.argv) > 4 else 6 * 4096
path = os.path.join(directory, f"fsync-probe-{os.getpid()}.bin")
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
buf = b"x" * size
latencies = []
start = time.monotonic()
try:
    i = 0
    while time.monotonic() - start < seconds:
        due = start + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        began = time.perf_counter()
        os.write(fd, buf)
        os.fsync(fd)
        latencies.append(time.perf_counter() - began)
        i += 1
finally:
    os.close(fd)
    os.unlink(path)
latencies.sort()
n = len(latencies)
at = lambda q: latencies[min(n - 1, int(q * n))] * 1000
print(f"{n} write+fsync of {size} bytes at {rate:.0f}/s: p50 {at(0.5):.2f} ms, p90 {at(0.9):.2f}, "
      f"p99 {at(0.99):.2f}, p99.9 {at(0.999):.2f}, max {latencies[-1] * 1000:.2f}")
