use super::*;
use crate::records::totals::Tally;

/// The tenants (account, mode) whose rows `rows` are.
fn tenants(rows: &NewRows) -> std::collections::BTreeSet<(String, bool)> {
    let t = |t: &Tenant| (t.account_id.clone(), t.livemode);
    let mut all: std::collections::BTreeSet<_> = rows.records.iter().map(|(tenant, _)| t(tenant)).collect();
    all.extend(rows.attempts.iter().map(|(tenant, _)| t(tenant)));
    all.extend(rows.events.iter().map(|(tenant, _)| t(tenant)));
    all.extend(rows.totals.keys().map(|k| (k.0.clone(), k.1)));
    all.extend(rows.keys.keys().map(|k| (k.0.clone(), k.1)));
    all
}

fn tenant(account: &str, livemode: bool) -> Tenant {
    Tenant {
        account_id: account.into(),
        livemode,
    }
}

fn key(key: &str, created: i64, retention: i64) -> IdempotencyRow {
    IdempotencyRow {
        key: key.into(),
        fingerprint: "f".into(),
        request_id: "req_1".into(),
        created,
        expired_before: created - retention,
    }
}

fn saving(t: &Tenant, k: &str, retention: i64) -> NewRows {
    let mut rows = NewRows::of_one_write();
    let response = SavedResponse {
        status: 200,
        body: "{}".into(),
    };
    rows.save_key(t, &key(k, 1_000_000, retention), &response);
    rows
}

fn requested(record: &str, day: i64, amount: i64) -> TotalsChange {
    TotalsChange {
        record_id: record.into(),
        day,
        currency: "usd".into(),
        delta: Totals {
            requested: Tally { count: 1, amount },
            ..Totals::default()
        },
    }
}

#[test]
fn a_group_never_saves_one_tenants_key_twice_but_the_same_key_of_another_tenant_joins() {
    let (a, b) = (tenant("acct_a", false), tenant("acct_b", false));
    let group = saving(&a, "k1", 86_400);
    assert!(!group.fits(&saving(&a, "k1", 86_400)));
    assert!(group.fits(&saving(&b, "k1", 86_400)));
    assert!(group.fits(&saving(&tenant("acct_a", true), "k1", 86_400)));
    assert!(group.fits(&saving(&a, "k2", 86_400)));
}

#[test]
fn a_group_keeps_its_keys_for_one_retention() {
    let a = tenant("acct_a", false);
    let group = saving(&a, "k1", 86_400);
    assert!(!group.fits(&saving(&a, "k2", 3_600)));
    assert!(
        group.fits(&NewRows::of_one_write()),
        "a write without a key fits any group"
    );
}

#[test]
fn a_groups_changes_of_one_totals_row_are_summed_into_one_upsert_and_rows_are_sorted() {
    let a = tenant("acct_a", false);
    let mut group = NewRows::of_one_write();
    group.add_totals(&a, &requested("pr_2", 20_000, 500), 7);
    let mut other = NewRows::of_one_write();
    other.add_totals(&a, &requested("pr_1", 20_000, 250), 7);
    other.add_totals(&a, &requested("pr_3", 19_999, 100), 3);
    group.append(other);
    assert_eq!(group.writes(), 2);
    let rows: Vec<_> = group
        .totals
        .iter()
        .map(|(k, v)| (k.2, k.4, v.values()[0], v.values()[1]))
        .collect();
    assert_eq!(rows, vec![(19_999, 3, 1, 100), (20_000, 7, 2, 750)]);
}

#[test]
fn a_groups_keys_are_inserted_in_one_order_whatever_the_order_of_arrival() {
    let a = tenant("acct_a", false);
    let mut group = saving(&a, "k3", 60);
    group.append(saving(&a, "k1", 60));
    group.append(saving(&tenant("acct_0", true), "k9", 60));
    let keys: Vec<_> = group.keys.keys().map(|k| format!("{}/{}/{}", k.0, k.1, k.2)).collect();
    assert_eq!(keys, ["acct_0/true/k9", "acct_a/false/k1", "acct_a/false/k3"]);
    assert_eq!(group.retention, Some(60));
    assert_eq!(tenants(&group).len(), 2);
}
