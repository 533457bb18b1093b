"""report_payment while the database is briefly unreachable: payrec answers 503 with
Stripe-Should-Retry: true, and the SDK (max_network_retries=2) retries with the same
Idempotency-Key until the database is back, so the caller sees no error and one record.

Prints one JSON line: the record id and how many requests the SDK made.
"""

import json
import os

import stripe

attempts = []


class CountingClient(stripe.RequestsClient):
    """Stripe's own HTTP client, counting the requests it sends."""

    def request(self, method, url, headers, post_data=None):
        attempts.append(url)
        return super().request(method, url, headers, post_data)


client = stripe.StripeClient(
    os.environ["PAYREC_KEY"],
    base_addresses={"api": os.environ["PAYREC_URL"]},
    max_network_retries=2,
    http_client=CountingClient(),
)
record = client.v1.payment_records.report_payment(
    {
        "amount_requested": {"currency": "usd", "value": 4321},
        "initiated_at": 1730211300,
        "payment_method_details": {"type": "custom"},
    }
)
print(json.dumps({"id": record.id, "requests": len(attempts)}))
