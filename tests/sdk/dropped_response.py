"""report_payment through a proxy that drops the first response: with max_network_retries=2
the SDK retries with the same Idempotency-Key, and payrec replays instead of recording twice.

Prints one JSON line: the record id and the replay header of the response the SDK accepted.
"""

import json
import os

import stripe

client = stripe.StripeClient(
    os.environ["PAYREC_KEY"],
    base_addresses={"api": os.environ["PAYREC_URL"]},
    max_network_retries=2,
)
record = client.v1.payment_records.report_payment(
    {
        "amount_requested": {"currency": "usd", "value": 1234},
        "initiated_at": 1730211300,
        "payment_method_details": {"type": "custom"},
    }
)
headers = record.last_response.headers
print(
    json.dumps(
        {
            "id": record.id,
            "replayed": headers.get("Idempotent-Replayed"),
            "idempotency_key": headers.get("Idempotency-Key"),
        }
    )
)
