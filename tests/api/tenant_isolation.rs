//! Tenant isolation (issue 7), property-style: seeded random scripts in which several accounts,
//! each in test and live mode, create records, report outcomes and refunds, retrieve, list with
//! cursors and expand, reuse the same Idempotency-Key strings and refund references, and name
//! each other's ids. No response may ever carry another tenant's id, metadata value, reference
//! or description; a foreign id is a 404 that echoes only the id given; lists hold exactly the
//! tenant's own objects.

mod script;

use crate::common::backend_test;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::common::{Api, Auth, Endpoint, Resp, TestServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::Value;

const SCRIPTS: usize = 20;
const OPS_PER_SCRIPT: usize = 40;
/// Accounts per script; each has a test-mode and a live-mode tenant.
const ACCOUNTS: usize = 3;
/// Idempotency-Key strings every tenant draws from.
const SHARED_KEYS: usize = 4;
const SHARED_REFERENCES: usize = 2;
const SEED: u64 = 0x1507_A7E0;
const INITIATED_AT: &str = "1730211300";
const OUTCOME_AT: &str = "1730211400";
const ID_RANDOM_CHARS: usize = 24;

#[derive(Debug, Clone, PartialEq)]
struct Req {
    endpoint: Endpoint,
    form: Vec<(String, String)>,
    key: Option<String>,
}

impl Req {
    fn mentions(&self, s: &str) -> bool {
        self.endpoint.path().contains(s) || self.form.iter().any(|(_, v)| v.contains(s))
    }
}

/// What the answer must be, apart from the leak checks every answer gets.
#[derive(Debug)]
enum Expect {
    Anything,
    /// The tenant's own object: never a 404.
    Found,
    /// Another tenant's id: Stripe's 404 naming exactly that id.
    Missing {
        id: String,
        param: &'static str,
    },
    /// A list page: exactly these ids, newest first.
    Page {
        ids: Vec<String>,
        has_more: bool,
    },
}

/// A request, what must come back, and what it does.
type Call = (Req, Expect, Kind);

#[derive(Debug)]
enum Kind {
    Create,
    NewAttempt(String),
    Refund(String),
    Other,
}

#[derive(Debug, Default)]
struct TenantState {
    api_key: String,
    livemode: bool,
    /// Records in creation order.
    records: Vec<String>,
    attempts: HashMap<String, Vec<String>>,
    refunded_references: HashSet<String>,
    /// First request under each Idempotency-Key and its saved answer.
    saved: HashMap<String, (Req, u16, String)>,
}

struct World {
    tenants: Vec<TenantState>,
    /// Every object id, its tenant and (for attempts) its record, in creation order.
    objects: Vec<(String, usize, Option<String>)>,
    owner: HashMap<String, usize>,
    rng: StdRng,
    requests: usize,
    /// How often each kind of check ran.
    checked: BTreeMap<&'static str, usize>,
}

/// `pr_…` / `par_…` ids in a text.
fn ids_in(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    for (i, _) in text.match_indices("pr_").chain(text.match_indices("par_")) {
        let start = i + if bytes[i] == b'p' && bytes.get(i + 1) == Some(&b'r') {
            3
        } else {
            4
        };
        let end = start + ID_RANDOM_CHARS;
        if bytes
            .get(start..end)
            .is_some_and(|s| s.iter().all(u8::is_ascii_alphanumeric))
            && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric())
        {
            found.push(&text[i..end]);
        }
    }
    found
}

/// Tenant numbers of the `tok<n>q…` tokens in a text.
fn tokens_in(text: &str) -> Vec<usize> {
    text.match_indices("tok")
        // A token starts a value (or follows `rr-`); inside a random id it is chance.
        .filter(|(i, _)| *i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
        .filter_map(|(i, _)| {
            let digits: String = text[i + 3..].chars().take_while(char::is_ascii_digit).collect();
            text[i + 3 + digits.len()..]
                .starts_with('q')
                .then(|| digits.parse().ok())?
        })
        .collect()
}

/// Every object in a JSON value that has `livemode` must be in `livemode`.
fn modes_agree(value: &Value, livemode: bool) -> bool {
    match value {
        Value::Object(map) => {
            map.get("livemode").is_none_or(|m| m == livemode) && map.values().all(|v| modes_agree(v, livemode))
        }
        Value::Array(items) => items.iter().all(|v| modes_agree(v, livemode)),
        _ => true,
    }
}

fn id_of(value: &Value) -> Option<String> {
    value.as_str().or_else(|| value["id"].as_str()).map(str::to_owned)
}

impl World {
    fn count(&mut self, what: &'static str) {
        *self.checked.entry(what).or_default() += 1;
    }

    fn register(&mut self, t: usize, id: Option<String>, record: Option<&str>, ctx: &str) {
        let Some(id) = id else { return };
        match self.owner.get(&id) {
            Some(o) => assert_eq!(*o, t, "{ctx}: answered with tenant {o}'s new object {id}"),
            None => {
                self.owner.insert(id.clone(), t);
                self.objects.push((id.clone(), t, record.map(str::to_owned)));
                match record {
                    Some(r) => self.tenants[t].attempts.entry(r.to_owned()).or_default().push(id),
                    None => self.tenants[t].records.push(id),
                }
            }
        }
    }

    /// Idempotency: a key is the tenant's own. Returns whether the answer is a replay or a
    /// key conflict (checked here, not against the call's expectation).
    fn check_idempotency(&mut self, t: usize, req: &Req, r: &Resp, ctx: &str) -> bool {
        let Some(key) = &req.key else { return false };
        let replayed = r.header("idempotent-replayed") == Some("true");
        let conflict = r.error("type") == "idempotency_error";
        match self.tenants[t].saved.get(key).cloned() {
            None => {
                let shared = self.tenants.iter().filter(|o| o.saved.contains_key(key)).count();
                if shared > 0 {
                    self.count("keys another tenant used first");
                }
                assert!(
                    !replayed && !conflict,
                    "{ctx}: first use of {key} by this tenant: {}",
                    r.body
                );
                self.tenants[t]
                    .saved
                    .insert(key.clone(), (req.clone(), r.status, r.body.clone()));
                false
            }
            Some((first, status, body)) if first == *req => {
                self.count("own replays");
                assert!(replayed, "{ctx}: the same request under {key} is replayed");
                assert_eq!(
                    (r.status, &r.body),
                    (status, &body),
                    "{ctx}: the tenant's own saved answer"
                );
                true
            }
            Some(_) => {
                self.count("key conflicts");
                assert!(conflict, "{ctx}: other parameters under {key}: {}", r.body);
                true
            }
        }
    }

    fn check(&mut self, t: usize, req: &Req, expect: &Expect, kind: &Kind, r: &Resp, ctx: &str) {
        assert!(r.status < 500, "{ctx}: {}", r.body);
        let settled = self.check_idempotency(t, req, r, ctx);
        if r.status == 200 && !settled {
            match kind {
                Kind::Create => {
                    self.register(t, id_of(&r.json["id"]), None, ctx);
                    let record = id_of(&r.json["id"]);
                    self.register(
                        t,
                        id_of(&r.json["latest_payment_attempt_record"]),
                        record.as_deref(),
                        ctx,
                    );
                }
                Kind::NewAttempt(record) => {
                    self.register(t, id_of(&r.json["latest_payment_attempt_record"]), Some(record), ctx)
                }
                Kind::Refund(reference) => {
                    if self.tenants.iter().any(|o| o.refunded_references.contains(reference)) {
                        self.count("refund references another tenant used");
                    }
                    self.tenants[t].refunded_references.insert(reference.clone());
                }
                Kind::Other => {}
            }
        }
        for id in ids_in(&r.body) {
            let owner = self.owner.get(id);
            assert!(
                owner == Some(&t) || req.mentions(id),
                "{ctx}: {id} (tenant {owner:?}) in {}",
                r.body
            );
        }
        for other in tokens_in(&r.body) {
            assert_eq!(other, t, "{ctx}: tenant {other}'s value in {}", r.body);
        }
        assert!(modes_agree(&r.json, self.tenants[t].livemode), "{ctx}: {}", r.body);
        if let Kind::Refund(reference) = kind
            && !self.tenants[t].refunded_references.contains(reference)
        {
            let message = r.error("message").as_str().unwrap_or_default();
            assert!(
                !message.contains("already been reported"),
                "{ctx}: {reference} is another's: {message}"
            );
        }
        if !settled {
            let what = match expect {
                Expect::Anything => "other answers",
                Expect::Found => "own objects found",
                Expect::Missing { .. } => "foreign ids answered 404",
                Expect::Page { .. } => "list pages exact",
            };
            self.count(what);
            check_expectation(expect, r, ctx);
        }
    }
}

fn check_expectation(expect: &Expect, r: &Resp, ctx: &str) {
    match expect {
        Expect::Anything => {}
        Expect::Found => assert_ne!(r.status, 404, "{ctx}: the tenant's own object: {}", r.body),
        Expect::Missing { id, param } => {
            let object = if id.starts_with("par_") {
                "payment_attempt_record"
            } else {
                "payment_record"
            };
            assert_eq!(r.status, 404, "{ctx}: another tenant's id: {}", r.body);
            assert_eq!(
                r.error("message"),
                format!("No such {object}: '{id}'").as_str(),
                "{ctx}"
            );
            assert_eq!(r.error("param"), *param, "{ctx}");
            assert_eq!(r.error("code"), "resource_missing", "{ctx}");
        }
        Expect::Page { ids, has_more } => {
            assert_eq!(r.status, 200, "{ctx}: {}", r.body);
            let data = r.json["data"].as_array().expect("data");
            let got: Vec<&str> = data.iter().map(|o| o["id"].as_str().unwrap_or_default()).collect();
            assert_eq!(got, *ids, "{ctx}: exactly the tenant's own objects");
            assert_eq!(r.json["has_more"], *has_more, "{ctx}");
        }
    }
}

/// payrec's extensions on: the script also expands and pages backwards where Stripe does not.
fn extensions() -> payrec::ServerConfig {
    crate::common::with_extensions()
}

#[backend_test(config = extensions)]
async fn no_response_ever_carries_another_tenants_data(server: TestServer) {
    let mut world = World {
        tenants: Vec::new(),
        objects: Vec::new(),
        owner: HashMap::new(),
        rng: StdRng::seed_from_u64(SEED),
        requests: 0,
        checked: BTreeMap::new(),
    };
    for script in 0..SCRIPTS {
        let first = world.tenants.len();
        for _ in 0..ACCOUNTS {
            world.add_account(&server).await;
        }
        for op in 0..OPS_PER_SCRIPT {
            let t = world.rng.random_range(first..world.tenants.len());
            let (req, expect, kind) = world.next_call(t);
            let form: Vec<(&str, &str)> = req.form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let tenant = server.with_auth(Auth::Bearer(world.tenants[t].api_key.clone()));
            let resp = tenant.call(&req.endpoint, &form, req.key.as_deref()).await;
            world.requests += 1;
            let ctx = format!(
                "script {script} op {op} tenant {t}: {} {} {:?}",
                req.endpoint.method(),
                req.endpoint.path(),
                req.form
            );
            world.check(t, &req, &expect, &kind, &resp, &ctx);
        }
    }
    println!(
        "{:?}: {SCRIPTS} scripts, {} tenants, {} requests, {} objects, no leak; checks: {:?}",
        server.backend,
        world.tenants.len(),
        world.requests,
        world.objects.len(),
        world.checked
    );
}

#[test]
fn the_leak_scanners_find_ids_and_tokens() {
    let id = "pr_0123456789abcdefghijABCD";
    let attempt = "par_0123456789abcdefghijABCD";
    let text = format!(
        r#"{{"id":"{id}","latest":"{attempt}","x":"spr_0123456789abcdefghijABCD","m":"tok12q99 tok3 xtok4q1"}}"#
    );
    assert_eq!(ids_in(&text), vec![id, attempt]);
    assert_eq!(tokens_in(&text), vec![12]);
    assert!(!modes_agree(&serde_json::json!({"data": [{"livemode": true}]}), false));
}
