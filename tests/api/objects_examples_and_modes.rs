//! EXAMPLES.md replayed request by request against the documented responses, and the tenancy
//! rules of API.md: `livemode` follows the key, and a key sees only its own account's objects
//! in its own mode, in retrieve, lists, cursors and report calls.

use crate::common::backend_test;
use std::collections::HashMap;

use crate::common::form::payment_with;
use crate::common::{Api, Auth, Client, TestServer, id_of};
use reqwest::Method;
use serde_json::Value;

/// A verbatim copy of the shared EXAMPLES.md, so the suite runs from a clone of this repository.
const EXAMPLES: &str = include_str!("../fixtures/EXAMPLES.md");

/// One step of EXAMPLES.md: the request and the documented response.
struct Step {
    title: String,
    method: Method,
    path: String,
    form: Vec<(String, String)>,
    status: u16,
    body: Value,
}

/// Reads every `### N.` section: its curl command, `→ HTTP status` and JSON block.
fn example_steps() -> Vec<Step> {
    let mut steps = Vec::new();
    for section in EXAMPLES.split("\n### ").skip(1) {
        let title = section.lines().next().unwrap_or_default().to_owned();
        let mut blocks = section.split("```").skip(1).step_by(2);
        let command = blocks.next().expect("a curl block").replace("\\\n", " ");
        let json_block = blocks.next().expect("a json block");
        let body = serde_json::from_str(json_block.trim_start_matches("json")).expect("example JSON parses");
        let url = command
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("a URL");
        let path = url.split_once("12111").expect("the example port").1.to_owned();
        let form: Vec<(String, String)> = command
            .split("-d '")
            .skip(1)
            .map(|d| {
                let pair = d.split('\'').next().expect("a quoted pair");
                let (k, v) = pair.split_once('=').expect("k=v");
                (k.to_owned(), v.to_owned())
            })
            .collect();
        let method = if command.contains(" -G ") || form.is_empty() {
            Method::GET
        } else {
            Method::POST
        };
        let status = section.split("→ HTTP ").nth(1).expect("a status")[..3]
            .parse()
            .expect("a number");
        steps.push(Step {
            title,
            method,
            path,
            form,
            status,
            body,
        });
    }
    steps
}

/// Example ids and the real ids they stand for, one to one.
#[derive(Default)]
struct IdMap {
    real: HashMap<String, String>,
    example: HashMap<String, String>,
}

impl IdMap {
    fn pair(&mut self, example: &str, real: &str, at: &str) {
        let known = self.real.entry(example.to_owned()).or_insert_with(|| real.to_owned());
        assert_eq!(known, real, "{at}: {example} stands for one id");
        let known = self
            .example
            .entry(real.to_owned())
            .or_insert_with(|| example.to_owned());
        assert_eq!(known, example, "{at}: {real} stands for one example id");
    }
    fn substitute(&self, text: &str) -> String {
        self.real.iter().fold(text.to_owned(), |t, (e, r)| t.replace(e, r))
    }
}

/// Compares every field, except that ids pair up with the example's and `created` is any time.
fn assert_like_example(expected: &Value, actual: &Value, ids: &mut IdMap, at: &str) {
    let field = at.rsplit('.').next().unwrap_or_default();
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            let mut keys: Vec<&String> = a.keys().collect();
            keys.sort_unstable();
            assert_eq!(keys, e.keys().collect::<Vec<_>>(), "fields of {at}");
            for (k, v) in e {
                assert_like_example(v, &a[k], ids, &format!("{at}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "length of {at}");
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                assert_like_example(e, a, ids, &format!("{at}[{i}]"));
            }
        }
        (_, Value::Number(_)) if field == "created" => {}
        (Value::String(e), Value::String(a))
            if matches!(field, "id" | "latest_payment_attempt_record" | "payment_record") =>
        {
            assert_eq!(e.split('_').next(), a.split('_').next(), "{at}: the id prefix");
            ids.pair(e, a, at);
        }
        _ => assert_eq!(expected, actual, "{at}"),
    }
}

#[backend_test]
async fn replaying_examples_md_gives_the_documented_responses(server: TestServer) {
    let steps = example_steps();
    assert_eq!(steps.len(), 10, "EXAMPLES.md has ten steps");
    let mut ids = IdMap::default();
    for step in steps {
        let path = ids.substitute(&step.path);
        let form: Vec<(String, String)> = step.form.iter().map(|(k, v)| (k.clone(), ids.substitute(v))).collect();
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let auth = Auth::Basic(server.test_key.clone());
        let r = server.request(step.method.clone(), &path, auth, &form, &[]).await;
        assert_eq!(r.status, step.status, "{}: {}", step.title, r.body);
        assert_like_example(&step.body, &r.json, &mut ids, &step.title);
    }
    assert_eq!(ids.real.len(), 3, "one record and two attempts");
}

/// The server as `key` sees it, sent as a Bearer token.
fn as_key(server: &TestServer, key: &str) -> Client {
    server.with_auth(Auth::Bearer(key.to_owned()))
}

#[backend_test]
async fn livemode_is_false_with_a_test_key_and_true_with_a_live_key(server: TestServer) {
    for (key, livemode) in [(server.test_key.clone(), false), (server.live_key.clone(), true)] {
        let as_key = as_key(&server, &key);
        let record = as_key.report_payment(&payment_with(&[])).await.ok();
        assert_eq!(record["livemode"], livemode);
        let attempt = record["latest_payment_attempt_record"].as_str().expect("attempt");
        assert_eq!(as_key.retrieve_attempt(attempt, &[]).await.ok()["livemode"], livemode);
        let list = as_key.list_records(&[]).await.ok();
        assert_eq!(
            list["data"].as_array().expect("data").len(),
            1,
            "each mode sees its own"
        );
        assert_eq!(list["data"][0]["livemode"], livemode);
    }
}

/// Everything `key` must not see of a record it does not own: all 404s.
async fn assert_invisible(server: &TestServer, key: &str, record: &Value) {
    let (id, attempt) = (id_of(record), record["latest_payment_attempt_record"].as_str().unwrap());
    let as_key = as_key(server, key);
    let cases = [
        (as_key.retrieve_record(&id, &[]).await, "id"),
        (as_key.retrieve_attempt(attempt, &[]).await, "id"),
        (as_key.list_records(&[("starting_after", &id)]).await, "starting_after"),
        (as_key.list_records(&[("ending_before", &id)]).await, "ending_before"),
        (as_key.list_attempts(&id, &[]).await, "payment_record"),
        (as_key.report_failed(&id, &[("failed_at", "1730260000")]).await, "id"),
        (as_key.report_informational(&id, &[("description", "x")]).await, "id"),
    ];
    for (r, param) in cases {
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.error("param"), param, "{}", r.body);
    }
    let list = as_key.list_records(&[("limit", "100")]).await.ok();
    assert!(
        list["data"]
            .as_array()
            .expect("data")
            .iter()
            .all(|r| r["id"] != record["id"])
    );
}

#[backend_test]
async fn a_key_sees_only_its_own_accounts_objects_in_its_own_mode(server: TestServer) {
    let other_account = server.new_account_key(false).await;
    let live = as_key(&server, &server.live_key)
        .report_payment(&payment_with(&[]))
        .await
        .ok();
    let other = as_key(&server, &other_account)
        .report_payment(&payment_with(&[]))
        .await
        .ok();
    let test = server.pending_payment(1000).await;
    assert_invisible(&server, &server.test_key, &live).await;
    assert_invisible(&server, &server.test_key, &other).await;
    assert_invisible(&server, &server.live_key, &test).await;
    assert_invisible(&server, &other_account, &test).await;
    // The owner still sees it, unchanged by the rejected calls.
    let seen = as_key(&server, &server.live_key)
        .retrieve_record(&id_of(&live), &[])
        .await;
    assert_eq!(seen.ok(), live);
}
