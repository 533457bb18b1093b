"""Each fault of `Payrec-Simulate` through Stripe's official Python SDK (stripe==16.1.0), against
a payrec started with --allow-simulation: what a client-resilience test sees.

Run by tests/api/simulation.rs with PAYREC_URL and PAYREC_KEY (a test key) set.
"""

import os
import sys
import time
import uuid

import stripe

URL = os.environ["PAYREC_URL"]
KEY = os.environ["PAYREC_KEY"]

retrying = stripe.StripeClient(KEY, base_addresses={"api": URL}, max_network_retries=2)
once = stripe.StripeClient(KEY, base_addresses={"api": URL}, max_network_retries=0)


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def simulate(fault, **options):
    return {"headers": {"Payrec-Simulate": fault}, **options}


def expect_error(cls, fn, what):
    try:
        fn()
    except cls as e:
        return e
    except Exception as e:  # noqa: BLE001 - report the wrong class
        check(False, f"{what}: raised {type(e).__name__} instead of {cls.__name__}: {e}")
    check(False, f"{what}: no error raised")


PAYMENT = {
    "amount_requested": {"currency": "usd", "value": 1000},
    "initiated_at": 1730211300,
    "payment_method_details": {"type": "custom"},
}
before = len(retrying.v1.payment_records.list({"limit": 100}).data)

# drop_after_commit: the change commits, the connection closes, the SDK retries with the same
# key and is answered with the saved response.
key = str(uuid.uuid4())
pr = retrying.v1.payment_records.report_payment(PAYMENT, simulate("drop_after_commit", idempotency_key=key))
check(pr.id.startswith("pr_"), "a dropped keyed report is retried by the SDK and answered")
replayed = pr.last_response.headers.get("Idempotent-Replayed")
check(replayed == "true", f"the retry was a replay (Idempotent-Replayed: {replayed})")
after = retrying.v1.payment_records.list({"limit": 100}).data
check(len(after) == before + 1, f"exactly one record was created ({len(after) - before})")

# A fault is injected once per identical request (a retry goes through): each check below asks
# for it on a record of its own.
def new_record():
    return retrying.v1.payment_records.report_payment(PAYMENT, {"idempotency_key": str(uuid.uuid4())})


# rate_limit: Stripe's 429, retried by the SDK.
e = expect_error(
    stripe.RateLimitError,
    lambda: once.v1.payment_records.retrieve(pr.id, options=simulate("rate_limit")),
    "rate_limit without retries",
)
check(e.http_status == 429 and e.error.code == "rate_limit", f"rate_limit is Stripe's 429 ({e.http_status} {e.error.code})")
other = new_record()
got = retrying.v1.payment_records.retrieve(other.id, options=simulate("rate_limit"))
check(got.id == other.id, "a rate_limit is retried by the SDK and succeeds")

# lock_timeout: Stripe's 429 lock_timeout, retried.
e = expect_error(
    stripe.RateLimitError,
    lambda: once.v1.payment_records.retrieve(pr.id, options=simulate("lock_timeout")),
    "lock_timeout without retries",
)
check(e.error.code == "lock_timeout", f"lock_timeout's code ({e.error.code})")
other = new_record()
got = retrying.v1.payment_records.retrieve(other.id, options=simulate("lock_timeout"))
check(got.id == other.id, "a lock_timeout is retried by the SDK and succeeds")

# api_error: a 500 the SDK retries.
e = expect_error(
    stripe.APIError,
    lambda: once.v1.payment_records.retrieve(pr.id, options=simulate("api_error")),
    "api_error without retries",
)
check(e.http_status == 500, f"api_error is a 500 ({e.http_status})")
got = retrying.v1.payment_records.report_payment(
    PAYMENT, simulate("api_error", idempotency_key=str(uuid.uuid4()))
)
check(got.id.startswith("pr_"), "an api_error is retried by the SDK and the report then runs")

# latency: the answer waits.
started = time.monotonic()
once.v1.payment_records.retrieve(pr.id, options=simulate("latency=400"))
waited = time.monotonic() - started
check(waited >= 0.4, f"latency=400 delays the answer ({waited:.3f} s)")

e = expect_error(
    stripe.InvalidRequestError,
    lambda: once.v1.payment_records.retrieve(pr.id, options=simulate("explode")),
    "an unknown fault",
)
check(e.http_status == 400, "an unknown fault is Stripe's 400")

print("SDK simulation: all checks passed")
