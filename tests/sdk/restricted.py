"""A restricted key (rk_…) through Stripe's official Python SDK: reads work, a write raises
stripe.PermissionError (HTTP 403), as with Stripe's restricted keys.

Prints "SDK restricted key: all checks passed".
"""

import os

import stripe

client = stripe.StripeClient(os.environ["PAYREC_KEY"], base_addresses={"api": os.environ["PAYREC_URL"]})
records = client.v1.payment_records.list({"limit": 3})
assert records.object == "list", records
assert len(records.data) == 1, records
record = client.v1.payment_records.retrieve(records.data[0].id)
assert record.id == records.data[0].id
client.v1.events.list({"limit": 1})
client.v1.webhook_endpoints.list()
try:
    client.v1.payment_records.report_payment(
        {
            "amount_requested": {"currency": "usd", "value": 1000},
            "initiated_at": 1730211300,
            "payment_method_details": {"type": "custom"},
        }
    )
    raise AssertionError("a restricted key reported a payment")
except stripe.PermissionError as e:
    assert e.http_status == 403, e.http_status
    assert "does not have the required permissions" in e.user_message, e.user_message
    assert "rk_test_" in e.user_message, e.user_message
try:
    client.v1.webhook_endpoints.create(params={"url": "https://example.com/h", "enabled_events": ["*"]})
    raise AssertionError("a restricted key created an endpoint")
except stripe.PermissionError:
    pass
print("SDK restricted key: all checks passed")
