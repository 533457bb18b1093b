use super::*;

const NOW: i64 = 1_765_000_000;

fn planned(toml_text: &str) -> Result<Seed, String> {
    let file: SeedFile = toml::from_str(toml_text).map_err(|e| e.to_string())?;
    plan(file, &Destinations::default(), NOW)
}

const EXAMPLE: &str = r#"
[[accounts]]
keys = ["sk_test_123", "rk_test_456", "sk_live_789"]

[[accounts.webhook_endpoints]]
url = "http://localhost:3000/webhooks"
enabled_events = ["*"]
secret = "whsec_test_secret"
api_version = "2026-07-29.dahlia"

[[accounts.payments]]
amount_requested = { currency = "usd", value = 1000 }
initiated_at = 1730211300
payment_method_details = { type = "custom" }
processor_details = { type = "custom", custom = { payment_reference = "ref-1" } }
"#;

#[test]
fn a_seed_file_gives_fixed_keys_a_fixed_secret_and_stable_ids() {
    let seed = planned(EXAMPLE).expect("the example is valid");
    let again = planned(EXAMPLE).expect("the example is valid");
    let account = &seed.accounts[0];
    assert_eq!(account.id, again.accounts[0].id, "the same file names the same account");
    assert!(account.id.starts_with("acct_"));
    let modes: Vec<(bool, KeyKind)> = account.keys.iter().map(|(_, l, k)| (*l, *k)).collect();
    assert_eq!(
        modes,
        [
            (false, KeyKind::Secret),
            (false, KeyKind::RestrictedRead),
            (true, KeyKind::Secret)
        ]
    );
    let endpoint = &account.endpoints[0];
    assert_eq!(endpoint.secret.as_deref(), Some("whsec_test_secret"));
    assert_eq!(endpoint.api_version.as_deref(), Some("2026-07-29.dahlia"));
    assert_eq!(endpoint.id, again.accounts[0].endpoints[0].id);
    assert!(endpoint.id.starts_with("we_"));
    let (livemode, payments) = &account.payments[0];
    assert!(!livemode);
    let again_payments = &again.accounts[0].payments[0].1;
    assert_eq!(
        payments[0].record_id(),
        again_payments[0].record_id(),
        "a payment's id is stable"
    );
}

#[test]
fn each_refused_part_is_named() {
    let cases = [
        (
            r#"[[accounts]]
keys = ["pk_test_1"]"#,
            "accounts[0].keys[0]",
        ),
        (
            r#"[[accounts]]
keys = []"#,
            "accounts[0].keys",
        ),
        (
            r#"[[accounts]]
keys = ["sk_test_1"]
[[accounts.webhook_endpoints]]
url = "http://localhost:3000/"
enabled_events = ["*"]
secret = "not-a-secret""#,
            "accounts[0].webhook_endpoints[0]: secret",
        ),
        (
            r#"[[accounts]]
keys = ["sk_test_1"]
[[accounts.webhook_endpoints]]
url = "http://localhost:3000/"
enabled_events = ["no.such_event"]
secret = "whsec_1""#,
            "enabled_events",
        ),
        (
            r#"[[accounts]]
keys = ["sk_test_1"]
[[accounts.webhook_endpoints]]
url = "http://localhost:3000/"
enabled_events = ["*"]
secret = "whsec_1"
api_version = "garbage""#,
            "api_version",
        ),
        (
            r#"[[accounts]]
keys = ["sk_test_1"]
[[accounts.payments]]
initiated_at = 1730211300"#,
            "accounts[0].payments[0]",
        ),
        (
            r#"[[accounts]]
id = "acct_same"
keys = ["sk_test_1"]
[[accounts]]
id = "acct_same"
keys = ["sk_test_2"]"#,
            "accounts[1].id",
        ),
    ];
    for (text, named) in cases {
        let error = planned(text).expect_err(text);
        assert!(error.contains(named), "{named} in {error}");
    }
}

#[test]
fn unknown_fields_are_refused() {
    let error = planned("[[accounts]]\nkeys = [\"sk_test_1\"]\nkye = 1").expect_err("a typo");
    assert!(error.contains("kye"), "{error}");
}

#[test]
fn a_live_endpoint_must_use_https() {
    let text = r#"[[accounts]]
keys = ["sk_live_1"]
[[accounts.webhook_endpoints]]
url = "http://localhost:3000/"
enabled_events = ["*"]
secret = "whsec_1"
livemode = true"#;
    let error = planned(text).expect_err("http in live mode");
    assert!(error.contains("https"), "{error}");
}

#[test]
fn the_example_seed_file_is_valid() {
    let seed = planned(include_str!("../../../examples/seed.toml")).expect("examples/seed.toml");
    let account = &seed.accounts[0];
    assert_eq!(account.id, "acct_example");
    assert_eq!(account.endpoints.len(), 1);
    assert_eq!(account.payments[0].1.len(), 2);
}

#[test]
fn a_json_seed_file_reads_the_same_and_takes_records_for_payments() {
    let text = r#"{"accounts": [{"keys": ["sk_test_123"], "records": [{
        "amount_requested": {"currency": "usd", "value": 1000},
        "initiated_at": 1730211300,
        "payment_method_details": {"type": "custom"}}]}]}"#;
    let file: SeedFile = serde_json::from_str(text).expect("JSON");
    let seed = plan(file, &Destinations::default(), NOW).expect("valid");
    assert_eq!(seed.accounts[0].payments[0].1.len(), 1);
}
