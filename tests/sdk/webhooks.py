"""Events and webhooks through Stripe's official Python SDK (stripe 16.1.0), as a user writes
them: create an endpoint, report a payment, receive the signed deliveries on a real HTTP server
and verify them with stripe.Webhook.construct_event, then list and retrieve the same events;
update, list and delete the endpoint; the SDK's error classes for bad calls.

Prints "SDK webhooks: all checks passed" when every check holds.
"""

import http.server
import json
import os
import threading
import time

import stripe

client = stripe.StripeClient(os.environ["PAYREC_KEY"], base_addresses={"api": os.environ["PAYREC_URL"]})
received = []
lock = threading.Condition()


class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with lock:
            received.append((body, self.headers["Stripe-Signature"]))
            lock.notify_all()
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/hooks"


def check(condition, what):
    if not condition:
        raise AssertionError(what)


endpoint = client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": ["*"], "metadata": {"team": "ledger"}})
check(isinstance(endpoint, stripe.WebhookEndpoint), "create returns a WebhookEndpoint")
check(endpoint.secret.startswith("whsec_"), "the create response carries the secret")
check(endpoint.status == "enabled" and endpoint.enabled_events == ["*"], "status and enabled_events")

record = client.v1.payment_records.report_payment(
    {
        "amount_requested": {"currency": "usd", "value": 2500},
        "initiated_at": 1730211300,
        "payment_method_details": {"type": "custom"},
        "processor_details": {"type": "custom", "custom": {"payment_reference": "bank-4711"}},
        "outcome": "guaranteed",
        "guaranteed": {"guaranteed_at": 1730211310},
    }
)

deadline = time.time() + 30
with lock:
    while len(received) < 3 and time.time() < deadline:
        lock.wait(0.5)
check(len(received) == 3, f"three deliveries arrived ({len(received)})")

verified = {}
for payload, signature in received:
    event = stripe.Webhook.construct_event(payload, signature, endpoint.secret)
    check(isinstance(event, stripe.Event), "construct_event gives an Event")
    verified[event.id] = event
try:
    stripe.Webhook.construct_event(received[0][0], received[0][1], "whsec_not_it")
    check(False, "a wrong secret is refused")
except stripe.SignatureVerificationError:
    pass

types = sorted(e.type for e in verified.values())
check(types == ["payment_attempt_record.created", "payment_attempt_record.guaranteed", "payment_record.created"], str(types))
created = next(e for e in verified.values() if e.type == "payment_record.created")
check(created.data.object.id == record.id, "data.object is the record")
check(created.data.object.processor_details.custom.payment_reference == "bank-4711", "the record as reported")

listed = client.v1.events.list({"limit": 10})
check(set(e.id for e in listed.data) == set(verified), "the list holds the delivered events")
check(listed.data[0].type == "payment_attempt_record.guaranteed", "newest first")
for event_id, event in verified.items():
    again = client.v1.events.retrieve(event_id)
    check(again.type == event.type and again.data.object.id == event.data.object.id, "retrieve gives the delivered event")
guaranteed = client.v1.events.list({"type": "payment_attempt_record.*", "limit": 10})
check(len(guaranteed.data) == 2, "type wildcard")
check(len(list(client.v1.events.list({"limit": 1}).auto_paging_iter())) == 3, "auto-paging over events")

updated = client.v1.webhook_endpoints.update(endpoint.id, {"disabled": True, "enabled_events": ["payment_record.created"]})
check(updated.status == "disabled" and updated.enabled_events == ["payment_record.created"], "update")
check(getattr(updated, "secret", None) is None, "no secret after create")
check([e.id for e in client.v1.webhook_endpoints.list().data] == [endpoint.id], "list")
check(client.v1.webhook_endpoints.retrieve(endpoint.id).url == url, "retrieve")

try:
    client.v1.webhook_endpoints.create(params={"url": url, "enabled_events": ["charge.succeeded"]})
    check(False, "an unknown event type is refused")
except stripe.InvalidRequestError as e:
    check(e.param == "enabled_events", f"param {e.param}")
try:
    client.v1.events.retrieve("evt_missing")
    check(False, "a missing event is a 404")
except stripe.InvalidRequestError as e:
    check(e.http_status == 404, "404")

deleted = client.v1.webhook_endpoints.delete(endpoint.id)
check(deleted.deleted is True and deleted.id == endpoint.id, "delete")
try:
    client.v1.webhook_endpoints.retrieve(endpoint.id)
    check(False, "a deleted endpoint is gone")
except stripe.InvalidRequestError as e:
    check(e.http_status == 404, "404 after delete")

print("SDK webhooks: all checks passed")
