//! The random scripts of the tenant isolation property: which tenant does what, to whose
//! objects, and what the answer must be.

use rand::Rng;

use super::{Call, Expect, INITIATED_AT, Kind, OUTCOME_AT, Req, SHARED_KEYS, SHARED_REFERENCES, TenantState, World};
use crate::common::{Endpoint, Report, TestServer};
use payrec::store::Tenant;
use payrec::wire::auth::generate_key;

impl World {
    pub(super) async fn add_account(&mut self, server: &TestServer) {
        let account_id = format!("acct_iso{}", payrec::base62::random_base62(12));
        let now = payrec::clock::unix_now();
        server.store.create_account(&account_id, now).await.expect("account");
        for livemode in [false, true] {
            let tenant = Tenant {
                account_id: account_id.clone(),
                livemode,
            };
            let key = generate_key(tenant, now);
            server.store.create_key(&key.stored).await.expect("key");
            self.tenants.push(TenantState {
                api_key: key.secret,
                livemode,
                ..TenantState::default()
            });
        }
    }

    fn token(&mut self, t: usize) -> String {
        format!("tok{t}q{}", self.rng.random::<u32>())
    }

    /// An object of `t` (70 %) or of another tenant, with whether it is `t`'s.
    fn pick(&mut self, t: usize, attempts: bool) -> Option<(String, bool)> {
        let kind = self.objects.iter().filter(|o| o.0.starts_with("par_") == attempts);
        let (own, other): (Vec<_>, Vec<_>) = kind.partition(|o| o.1 == t);
        let mine = !own.is_empty() && (other.is_empty() || self.rng.random_bool(0.7));
        let pool = if mine { own } else { other };
        (!pool.is_empty()).then(|| (pool[self.rng.random_range(0..pool.len())].0.clone(), mine))
    }

    fn expect_for(&self, id: &str, mine: bool, param: &'static str) -> Expect {
        match mine {
            true => Expect::Found,
            false => Expect::Missing {
                id: id.to_owned(),
                param,
            },
        }
    }

    fn post(&mut self, endpoint: Endpoint, form: Vec<(&str, String)>) -> Req {
        let key = self.rng.random_bool(0.5).then(|| {
            let n = self.rng.random_range(0..SHARED_KEYS);
            format!("shared-key-{n}")
        });
        let form = form.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        Req { endpoint, form, key }
    }

    /// A random call by tenant `t`.
    pub(super) fn next_call(&mut self, t: usize) -> Call {
        let tok = self.token(t);
        let choice = self.rng.random_range(0..100);
        let create = choice < 15 || (self.tenants[t].records.is_empty() && self.rng.random_bool(0.6));
        let record = self.pick(t, false);
        let Some((id, mine)) = record.filter(|_| !create) else {
            let mut form = vec![
                ("amount_requested[currency]", "usd".to_owned()),
                (
                    "amount_requested[value]",
                    self.rng.random_range(100..10_000).to_string(),
                ),
                ("initiated_at", INITIATED_AT.to_owned()),
                ("payment_method_details[type]", "custom".to_owned()),
                ("metadata[owner]", tok.clone()),
                ("description", tok.clone()),
                ("processor_details[type]", "custom".to_owned()),
                ("processor_details[custom][payment_reference]", tok.clone()),
                ("customer_details[email]", format!("{tok}@example.com")),
            ];
            if self.rng.random_bool(0.6) {
                form.extend([
                    ("outcome", "guaranteed".into()),
                    ("guaranteed[guaranteed_at]", OUTCOME_AT.into()),
                ]);
            }
            if self.rng.random_bool(0.3) {
                form.push(("expand[]", "latest_payment_attempt_record".into()));
            }
            let req = self.post(Endpoint::ReportPayment, form);
            return (req, Expect::Anything, Kind::Create);
        };
        let on = |call: Report| Endpoint::Report(id.clone(), call);
        let expect = self.expect_for(&id, mine, "id");
        match choice {
            15..30 => {
                let outcomes = [
                    (Report::Guaranteed, "guaranteed_at"),
                    (Report::Failed, "failed_at"),
                    (Report::Canceled, "canceled_at"),
                ];
                let (outcome, field) = outcomes[self.rng.random_range(0..3)];
                let form = vec![(field, OUTCOME_AT.to_owned()), ("metadata[by]", tok)];
                let req = self.post(on(outcome), form);
                (req, expect, Kind::Other)
            }
            30..40 => {
                let form = vec![("initiated_at", INITIATED_AT.to_owned()), ("description", tok)];
                (self.post(on(Report::Attempt), form), expect, Kind::NewAttempt(id))
            }
            40..52 => {
                let reference = match self.rng.random_bool(0.5) {
                    true => format!("rr-shared-{}", self.rng.random_range(0..SHARED_REFERENCES)),
                    false => format!("rr-{tok}"),
                };
                let mut form = vec![
                    ("outcome", "refunded".to_owned()),
                    ("processor_details[type]", "custom".to_owned()),
                    ("processor_details[custom][refund_reference]", reference.clone()),
                    ("metadata[refund]", tok),
                ];
                if self.rng.random_bool(0.5) {
                    form.extend([("amount[currency]", "usd".into()), ("amount[value]", "100".into())]);
                }
                (self.post(on(Report::Refund), form), expect, Kind::Refund(reference))
            }
            52..58 => {
                let form = vec![("metadata[note]", tok.clone()), ("customer_details[name]", tok)];
                (self.post(on(Report::Informational), form), expect, Kind::Other)
            }
            58..68 => {
                let mut req = get(Endpoint::RetrieveRecord(id.clone()));
                if self.rng.random_bool(0.5) {
                    req.form
                        .push(("expand[]".into(), "latest_payment_attempt_record".into()));
                }
                (req, expect, Kind::Other)
            }
            68..76 => self.retrieve_attempt(t),
            76..88 => self.list_records(t),
            88..96 => self.list_attempts(t, &id, mine),
            _ => self.replay(t),
        }
    }

    fn retrieve_attempt(&mut self, t: usize) -> Call {
        let Some((id, mine)) = self.pick(t, true) else {
            return (get(Endpoint::ListRecords), Expect::Anything, Kind::Other);
        };
        let mut req = get(Endpoint::RetrieveAttempt(id.clone()));
        if self.rng.random_bool(0.5) {
            req.form.push(("expand[0]".into(), "payment_record".into()));
        }
        (req, self.expect_for(&id, mine, "id"), Kind::Other)
    }

    /// A page of `all` (newest first) after or before `cursor`, as a list call must answer it.
    fn page(&mut self, req: &mut Req, all: Vec<String>, cursor: Option<(String, bool)>) -> Expect {
        let limit = self.rng.random_range(1..=5);
        req.form.push(("limit".into(), limit.to_string()));
        let backwards = self.rng.random_bool(0.4);
        let param = if backwards { "ending_before" } else { "starting_after" };
        let (ids, has_more) = match cursor {
            None => (all.iter().take(limit).cloned().collect(), all.len() > limit),
            Some((id, false)) => {
                req.form.push((param.into(), id.clone()));
                return self.expect_for(&id, false, param);
            }
            Some((id, true)) => {
                req.form.push((param.into(), id.clone()));
                let i = all.iter().position(|x| *x == id).expect("own cursor listed");
                if backwards {
                    (all[i.saturating_sub(limit)..i].to_vec(), i > limit)
                } else {
                    (
                        all.iter().skip(i + 1).take(limit).cloned().collect(),
                        all.len() > i + 1 + limit,
                    )
                }
            }
        };
        Expect::Page { ids, has_more }
    }

    fn list_records(&mut self, t: usize) -> Call {
        let mut req = get(Endpoint::ListRecords);
        if self.rng.random_bool(0.5) {
            req.form
                .push(("expand[]".into(), "data.latest_payment_attempt_record".into()));
        }
        let cursor = self.rng.random_bool(0.6).then(|| self.pick(t, false)).flatten();
        let all = self.tenants[t].records.iter().rev().cloned().collect();
        let expect = self.page(&mut req, all, cursor);
        (req, expect, Kind::Other)
    }

    fn list_attempts(&mut self, t: usize, record: &str, mine: bool) -> Call {
        let mut req = get(Endpoint::ListAttempts);
        req.form.push(("payment_record".into(), record.to_owned()));
        if !mine {
            return (req, self.expect_for(record, false, "payment_record"), Kind::Other);
        }
        let all: Vec<String> = self.tenants[t].attempts[record].iter().rev().cloned().collect();
        let cursor = match self.rng.random_range(0..3) {
            0 => None,
            1 => Some((all[self.rng.random_range(0..all.len())].clone(), true)),
            _ => self.pick(t, true).filter(|(_, mine)| !mine),
        };
        let expect = self.page(&mut req, all, cursor);
        (req, expect, Kind::Other)
    }

    /// The exact request `t` first sent under one of its keys: the saved answer comes back.
    fn replay(&mut self, t: usize) -> Call {
        let mut keys: Vec<&String> = self.tenants[t].saved.keys().collect();
        keys.sort();
        match keys.get(self.rng.random_range(0..keys.len().max(1))) {
            Some(k) => (self.tenants[t].saved[*k].0.clone(), Expect::Anything, Kind::Other),
            None => (get(Endpoint::ListRecords), Expect::Anything, Kind::Other),
        }
    }
}

pub(super) fn get(endpoint: Endpoint) -> Req {
    Req {
        endpoint,
        form: Vec::new(),
        key: None,
    }
}
