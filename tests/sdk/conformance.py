"""Drives payrec with Stripe's official Python SDK (stripe==16.1.0), as an SDK user would.

Run by tests/api/sdk_conformance.rs with PAYREC_URL and PAYREC_KEY set; exits non-zero with a
message on the first mismatch.
"""

import os
import sys

import stripe

URL = os.environ["PAYREC_URL"]
KEY = os.environ["PAYREC_KEY"]

client = stripe.StripeClient(KEY, base_addresses={"api": URL}, max_network_retries=2)
records = client.v1.payment_records
attempts = client.v1.payment_attempt_records


def check(condition, what):
    if not condition:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)
    print(f"ok: {what}")


def expect_error(cls, fn, what, **fields):
    try:
        fn()
    except cls as e:
        for name, want in fields.items():
            got = getattr(e, name)
            check(got == want, f"{what}: {name} == {want!r} (got {got!r})")
        return e
    except Exception as e:  # noqa: BLE001 - report the wrong class
        check(False, f"{what}: raised {type(e).__name__} instead of {cls.__name__}: {e}")
    check(False, f"{what}: no error raised")


def amount(obj, field):
    return getattr(obj, field).value


# report -> fail -> new attempt -> guarantee -> partial refunds
pr = records.report_payment(
    {
        "amount_requested": {"currency": "usd", "value": 1000},
        "initiated_at": 1730211300,
        "customer_presence": "on_session",
        "description": "computer software",
        "payment_method_details": {
            "type": "custom",
            "custom": {"display_name": "newpay", "type": "cpmt_125kjj3hn3sdf"},
            "payment_method": "pm_5j23kjksibjlks",
        },
        "processor_details": {"type": "custom", "custom": {"payment_reference": "npp2358872734k"}},
        "metadata": {"order": "42"},
    }
)
check(isinstance(pr, stripe.PaymentRecord), "report_payment returns a PaymentRecord")
check(pr.id.startswith("pr_") and len(pr.id) == 27, "record id is pr_ + 24 characters")
check(pr.object == "payment_record", "object is payment_record")
check(amount(pr, "amount_requested") == 1000 and pr.amount_requested.currency == "usd", "amount_requested")
check(amount(pr, "amount_guaranteed") == 0, "nothing guaranteed yet")
check(pr.livemode is False, "test key sees test mode")
check(pr.metadata["order"] == "42", "metadata kept")
check(pr.processor_details.custom.payment_reference == "npp2358872734k", "processor reference kept")
first_attempt = pr.latest_payment_attempt_record

pr = records.report_payment_attempt_failed(pr.id, {"failed_at": 1730211400})
check(amount(pr, "amount_failed") == 1000, "failed attempt: amount_failed is the requested amount")

pr = records.report_payment_attempt(pr.id, {"initiated_at": 1730253425, "description": "computer software, retry"})
check(pr.latest_payment_attempt_record != first_attempt, "a new attempt becomes latest")
check(amount(pr, "amount_failed") == 0, "the record mirrors its new pending attempt")
check(pr.description == "computer software, retry", "the new description replaces the record's")

pr = records.report_payment_attempt_guaranteed(pr.id, {"guaranteed_at": 1730253453})
check(amount(pr, "amount_guaranteed") == 1000, "guaranteed")
check(amount(pr, "amount_authorized") == 1000, "authorized equals guaranteed")

pr = records.report_refund(
    pr.id,
    {
        "outcome": "refunded",
        "amount": {"currency": "usd", "value": 300},
        "processor_details": {"type": "custom", "custom": {"refund_reference": "refund_12345"}},
        "refunded": {"refunded_at": 1730300000},
    },
)
check(amount(pr, "amount_refunded") == 300, "partial refund of 300")
pr = records.report_refund(
    pr.id,
    {
        "outcome": "refunded",
        "amount": {"currency": "usd", "value": 200},
        "processor_details": {"type": "custom", "custom": {"refund_reference": "refund_12346"}},
        "refunded": {"refunded_at": 1730300100},
    },
)
check(amount(pr, "amount_refunded") == 500, "second partial refund accumulates")

# retrieve; Stripe expands neither the latest attempt nor an attempt's record, and nor does
# payrec without --extensions
got = records.retrieve(pr.id)
check(got.id == pr.id and amount(got, "amount_refunded") == 500, "retrieve returns the stored record")
check(isinstance(got.latest_payment_attempt_record, str), "latest_payment_attempt_record is an id")
latest = attempts.retrieve(got.latest_payment_attempt_record)
check(amount(latest, "amount_refunded") == 500, "the guaranteed attempt carries the refunds")
check(latest.payment_record == pr.id, "an attempt names its record")
expect_error(
    stripe.InvalidRequestError,
    lambda: records.retrieve(pr.id, {"expand": ["latest_payment_attempt_record"]}),
    "expanding the latest attempt is refused as Stripe refuses it",
    http_status=400,
    user_message="This property cannot be expanded (latest_payment_attempt_record).",
)
expect_error(
    stripe.InvalidRequestError,
    lambda: attempts.retrieve(latest.id, {"expand": ["payment_record"]}),
    "expanding an attempt's record is refused as Stripe refuses it",
    http_status=400,
)

# lists with pagination
listed = attempts.list({"payment_record": pr.id})
check(len(listed.data) == 2 and listed.has_more is False, "two attempts listed")
check(listed.data[0].id == latest.id, "attempts newest first")
made = [records.report_payment(
    {
        "amount_requested": {"currency": "eur", "value": 100 + i},
        "initiated_at": 1730211300,
        "payment_method_details": {"type": "custom"},
    }
).id for i in range(5)]
page = records.list({"limit": 2})
check(len(page.data) == 2 and page.has_more is True, "first page of 2 has more")
all_ids = [r.id for r in records.list({"limit": 2}).auto_paging_iter()]
check(len(all_ids) == 6 and len(set(all_ids)) == 6, "auto-paging sees all six records once")
check(all_ids[:5] == list(reversed(made)), "records newest first")
back = records.list({"limit": 2, "ending_before": all_ids[4]})
check([r.id for r in back.data] == all_ids[2:4], "ending_before pages backwards")

# errors, as SDK users see them
expect_error(
    stripe.InvalidRequestError,
    lambda: records.report_payment_attempt(pr.id, {"initiated_at": 1730400000}),
    "a new attempt after the guarantee is refused",
    http_status=400,
)
expect_error(
    stripe.InvalidRequestError,
    lambda: records.report_payment(
        {"amount_requested": {"currency": "usd"}, "initiated_at": 1, "payment_method_details": {"type": "custom"}}
    ),
    "missing amount_requested[value]",
    http_status=400,
    code="parameter_missing",
    param="amount_requested[value]",
)
expect_error(
    stripe.InvalidRequestError,
    lambda: records.retrieve("pr_doesnotexist"),
    "unknown record",
    http_status=404,
    code="resource_missing",
    param="id",
)
expect_error(
    stripe.InvalidRequestError,
    lambda: records.report_refund(
        pr.id,
        {
            "outcome": "refunded",
            "amount": {"currency": "usd", "value": 501},
            "processor_details": {"type": "custom", "custom": {"refund_reference": "refund_too_much"}},
        },
    ),
    "a refund beyond the remainder is refused",
    http_status=400,
)
expect_error(
    stripe.AuthenticationError,
    lambda: stripe.StripeClient("sk_test_wrongwrongwrong", base_addresses={"api": URL}).v1.payment_records.retrieve(pr.id),
    "a wrong key is an AuthenticationError",
    http_status=401,
)

# the remainder, then nothing left
pr = records.report_refund(
    pr.id,
    {"outcome": "refunded", "processor_details": {"type": "custom", "custom": {"refund_reference": "refund_rest"}}},
)
check(amount(pr, "amount_refunded") == 1000, "a refund without amount refunds the remainder")
print("SDK conformance: all checks passed")
