#!/usr/bin/env python3
"""A payment history for `payrec import` benchmarks: N payments with the payment records
export's columns, one every 30 seconds from 2023-11-14 on; 80% guaranteed (5% of those half
refunded), 10% failed, 10% pending; usd and eur; no ids (payrec makes them from the reference).

    python3 bench/import/history.py 1000000 > history.csv
"""
import csv
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
out = csv.writer(sys.stdout, lineterminator="\n")
out.writerow(["created", "currency", "amount_requested", "latest_attempt_state",
              "latest_attempt_outcome_at", "amount_refunded", "payment_reference",
              "customer_email", "description", "metadata"])
start = 1_700_000_000
for i in range(n):
    created = start + i * 30
    kind = i % 10
    state = "pending" if kind == 0 else "failed" if kind == 1 else "guaranteed"
    amount = 100 + (i * 7919) % 100_000
    outcome_at = "" if state == "pending" else created + 60
    refunded = amount // 2 if state == "guaranteed" and i % 20 == 2 else 0
    out.writerow([created, "eur" if i % 3 == 0 else "usd", amount, state, outcome_at, refunded,
                  f"bank-{i:08d}", f"customer{i % 5000}@example.com", f"order {i}",
                  '{"order":"%d"}' % i])
