// Verifies payrec's webhook deliveries with Stripe's official Node SDK (stripe@23.2.0):
// stripe.webhooks.constructEvent on each delivery's raw body and Stripe-Signature header, with
// the endpoint's secret; the event's api_version must be the one given, when one is. A tampered
// body and a wrong secret must be refused. Reads the JSON file of tests/sdk/webhook_verify.py.
const fs = require("node:fs");
const Stripe = require("stripe");

const given = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const stripe = new Stripe("sk_test_unused");
const ids = [];
for (const delivery of given.deliveries) {
  const event = stripe.webhooks.constructEvent(delivery.payload, delivery.sig_header, given.secret);
  if (event.object !== "event") throw new Error(`not an event: ${delivery.payload}`);
  if (given.api_version && event.api_version !== given.api_version) {
    throw new Error(`api_version ${event.api_version}, expected ${given.api_version}`);
  }
  ids.push(event.id);
}
const first = given.deliveries[0];
for (const [payload, secret] of [[first.payload.replace("usd", "eur"), given.secret], [first.payload, "whsec_wrong"]]) {
  let refused = false;
  try {
    stripe.webhooks.constructEvent(payload, first.sig_header, secret);
  } catch (e) {
    refused = e.type === "StripeSignatureVerificationError";
  }
  if (!refused) throw new Error("a tampered payload or a wrong secret was accepted");
}
console.log(`verified ${ids.length} deliveries`);
