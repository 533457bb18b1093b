"""Verifies payrec's webhook deliveries with Stripe's own code: stripe.Webhook.construct_event
(stripe 16.1.0) on each delivery's raw body and Stripe-Signature header, with the endpoint's
secret. A tampered body must be refused.

Reads a JSON file (argv[1]): {"secret": "whsec_…", "deliveries": [{"payload": …,
"sig_header": …}, …], "api_version": optional, the version every event must carry}. Prints "verified N deliveries" and the ids of the events, in order.
"""

import json
import sys

import stripe

with open(sys.argv[1]) as f:
    given = json.load(f)

secret = given["secret"]
ids = []
for delivery in given["deliveries"]:
    event = stripe.Webhook.construct_event(delivery["payload"], delivery["sig_header"], secret)
    assert event.object == "event", event
    assert event.id.startswith("evt_"), event.id
    if given.get("api_version"):
        assert event.api_version == given["api_version"], (event.api_version, given["api_version"])
    ids.append(event.id)

first = given["deliveries"][0]
try:
    stripe.Webhook.construct_event(first["payload"].replace("usd", "eur"), first["sig_header"], secret)
except stripe.SignatureVerificationError:
    pass
else:
    raise AssertionError("a tampered payload was accepted")
try:
    stripe.Webhook.construct_event(first["payload"], first["sig_header"], "whsec_wrong")
except stripe.SignatureVerificationError:
    pass
else:
    raise AssertionError("a wrong secret was accepted")

print(f"verified {len(ids)} deliveries")
print(json.dumps(ids))
