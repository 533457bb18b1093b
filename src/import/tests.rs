//! The lines of an import, without a database: what each format reads, the API's rules and the
//! lifecycle applied to it, the ids a line keeps or is given, and the order lines are applied.

use super::csv_line::CsvColumns;
use super::{LineInput, ReadyLine, Sequencer, json_line, prepare};
use crate::export::RECORD_COLUMNS;
use crate::records::model::AttemptState;

fn csv_line(header: &[&str], row: &[&str]) -> Result<LineInput, super::LineError> {
    let columns = CsvColumns::from_header(&csv::StringRecord::from(header.to_vec())).expect("columns");
    columns.line(&csv::StringRecord::from(row.to_vec()), 2)
}

/// An export row with the given cells, the rest empty.
fn export_row(cells: &[(&str, &str)]) -> Vec<String> {
    RECORD_COLUMNS
        .iter()
        .map(|c| {
            cells
                .iter()
                .find(|(name, _)| name == c)
                .map_or(String::new(), |(_, v)| (*v).to_owned())
        })
        .collect()
}

fn ready_from_export(cells: &[(&str, &str)]) -> Result<ReadyLine, super::LineError> {
    let row = export_row(cells);
    let row: Vec<&str> = row.iter().map(String::as_str).collect();
    prepare(csv_line(&RECORD_COLUMNS, &row)?, false)
}

#[test]
fn an_export_row_keeps_its_ids_times_outcome_and_refunded_amount() {
    let ready = ready_from_export(&[
        ("id", "pr_0USbNru4fY3zPXfu1RtyF5cb"),
        ("livemode", "false"),
        ("created", "1730211200"),
        ("currency", "usd"),
        ("amount_requested", "5000"),
        ("amount_refunded", "1500"),
        ("latest_attempt", "par_0USbNru41Uukp8FPRNL571T6"),
        ("latest_attempt_state", "guaranteed"),
        ("latest_attempt_outcome_at", "1730211600"),
        ("payment_reference", "bank-77"),
        ("customer_email", "a@example.com"),
        ("description", "two, \"quoted\""),
        ("metadata", r#"{"order":"77","n":3}"#),
    ])
    .expect("a valid row");
    let state = ready.payment.last();
    assert_eq!(state.record.id.as_str(), "pr_0USbNru4fY3zPXfu1RtyF5cb");
    assert_eq!(state.latest.id.as_str(), "par_0USbNru41Uukp8FPRNL571T6");
    assert_eq!(state.record.created, 1730211200);
    assert_eq!(
        state.latest.initiated_at, 1730211200,
        "initiated_at defaults to created"
    );
    assert_eq!(
        state.record.latest_attempt_state,
        AttemptState::Guaranteed { at: 1730211600 }
    );
    assert_eq!(state.record.amount_refunded, 1500);
    assert_eq!(ready.payment.refunds.len(), 1);
    assert_eq!(
        ready.payment.refunds[0].refund_reference,
        "pr_0USbNru4fY3zPXfu1RtyF5cb_refund"
    );
    assert_eq!(ready.payment.refunds[0].refunded_at, Some(1730211600));
    assert_eq!(state.record.details.metadata.get("n").map(String::as_str), Some("3"));
    assert_eq!(state.record.details.description.as_deref(), Some("two, \"quoted\""));
    assert_eq!(ready.payment.states.len(), 2, "created, then refunded");
}

#[test]
fn a_row_breaking_the_api_s_rules_names_the_param() {
    let bad_amount = ready_from_export(&[
        ("created", "1730211200"),
        ("currency", "usd"),
        ("amount_requested", "ten"),
    ])
    .unwrap_err();
    assert_eq!(bad_amount.param.as_deref(), Some("amount_requested[value]"));
    assert_eq!(bad_amount.line, 2);
    let currency = ready_from_export(&[
        ("created", "1730211200"),
        ("currency", "zzz"),
        ("amount_requested", "10"),
    ])
    .unwrap_err();
    assert_eq!(currency.param.as_deref(), Some("amount_requested[currency]"));
    let no_time = ready_from_export(&[
        ("created", "1730211200"),
        ("currency", "usd"),
        ("amount_requested", "10"),
        ("latest_attempt_state", "failed"),
    ])
    .unwrap_err();
    assert_eq!(no_time.param.as_deref(), Some("latest_attempt_outcome_at"));
    let refund_of_pending = ready_from_export(&[
        ("created", "1730211200"),
        ("currency", "usd"),
        ("amount_requested", "10"),
        ("amount_refunded", "5"),
    ])
    .unwrap_err();
    assert_eq!(refund_of_pending.param.as_deref(), Some("refunds"));
    let live = ready_from_export(&[
        ("livemode", "true"),
        ("created", "1730211200"),
        ("currency", "usd"),
        ("amount_requested", "10"),
    ])
    .unwrap_err();
    assert!(live.message.contains("--mode live"), "{live}");
    let bad_id = ready_from_export(&[
        ("id", "ch_123"),
        ("created", "1730211200"),
        ("currency", "usd"),
        ("amount_requested", "10"),
    ])
    .unwrap_err();
    assert_eq!(bad_id.param.as_deref(), Some("id"));
}

#[test]
fn a_header_without_a_needed_column_names_it_and_what_it_saw() {
    let header = csv::StringRecord::from(vec!["id", "amount", "when"]);
    let e = CsvColumns::from_header(&header).unwrap_err();
    assert!(e.contains("\"currency\"") && e.contains("id, amount, when"), "{e}");
    let header = csv::StringRecord::from(vec!["currency", "amount_requested"]);
    let e = CsvColumns::from_header(&header).unwrap_err();
    assert!(e.contains("created"), "{e}");
}

#[test]
fn decimal_amounts_and_rfc_3339_times_are_read() {
    let input = csv_line(
        &["currency", "amount_requested_decimal", "created_utc"],
        &["JPY", "1200", "2024-10-29T14:13:20Z"],
    )
    .unwrap();
    let ready = prepare(input, false).unwrap();
    assert_eq!(
        ready.payment.last().record.amount_requested.value,
        1200,
        "JPY has no decimals"
    );
    assert_eq!(ready.created, 1730211200);
    let e = csv_line(
        &["currency", "amount_requested_decimal", "created"],
        &["usd", "12.345", "1"],
    )
    .unwrap_err();
    assert_eq!((e.line, e.param.as_deref()), (2, Some("amount_requested_decimal")));
}

#[test]
fn a_line_without_an_id_gets_the_same_id_every_time() {
    let header = ["currency", "amount_requested", "created", "payment_reference"];
    let one = prepare(
        csv_line(&header, &["usd", "10", "1730211200", "bank-1"]).unwrap(),
        false,
    )
    .unwrap();
    let again = prepare(
        csv_line(&header, &["usd", "10", "1730211200", "bank-1"]).unwrap(),
        false,
    )
    .unwrap();
    let other = prepare(
        csv_line(&header, &["usd", "10", "1730211200", "bank-2"]).unwrap(),
        false,
    )
    .unwrap();
    assert_eq!(one.record_id(), again.record_id());
    assert_ne!(one.record_id(), other.record_id());
    assert!(one.record_id().starts_with("pr_") && one.record_id().len() == 3 + 24);
    let attempt = one.payment.last().latest.id.as_str();
    assert!(attempt.starts_with("par_") && attempt.len() == 4 + 24);
}

#[test]
fn json_lines_are_report_calls_with_their_refunds() {
    let text = r#"{"id":"pr_legacy_1","created":"2024-10-29T14:13:20Z","amount_requested":{"currency":"usd","value":1000},"initiated_at":1730211000,"payment_method_details":{"type":"custom"},"outcome":"guaranteed","guaranteed":{"guaranteed_at":1730211300},"metadata":{"a":"b"},"refunds":[{"outcome":"refunded","processor_details":{"type":"custom","custom":{"refund_reference":"rf-1"}},"amount":{"currency":"usd","value":400},"refunded":{"refunded_at":1730212000}},{"outcome":"refunded","processor_details":{"type":"custom","custom":{"refund_reference":"rf-2"}},"created":1730213000}]}"#;
    let ready = prepare(json_line::line(text, 1).unwrap(), false).unwrap();
    let state = ready.payment.last();
    assert_eq!(state.record.id.as_str(), "pr_legacy_1");
    assert_eq!(state.record.created, 1730211200);
    assert_eq!(state.record.amount_refunded, 1000, "the second refund takes the rest");
    assert_eq!(
        ready.payment.refunds[0].created, 1730212000,
        "a refund's time is its refunded_at"
    );
    assert_eq!(ready.payment.refunds[1].created, 1730213000);
    let unknown = prepare(
        json_line::line(
            r#"{"amount_requested":{"currency":"usd","value":1},"initiated_at":1,"payment_method_details":{"type":"custom"},"colour":"red"}"#,
            7,
        )
        .unwrap(),
        false,
    )
    .unwrap_err();
    assert_eq!((unknown.line, unknown.param.as_deref()), (7, Some("colour")));
    let too_much = prepare(
        json_line::line(
            r#"{"amount_requested":{"currency":"usd","value":10},"initiated_at":1,"payment_method_details":{"type":"custom"},"outcome":"guaranteed","guaranteed":{"guaranteed_at":2},"refunds":[{"outcome":"refunded","processor_details":{"type":"custom","custom":{"refund_reference":"r"}},"amount":{"currency":"usd","value":11}}]}"#,
            3,
        )
        .unwrap(),
        false,
    )
    .unwrap_err();
    assert_eq!(too_much.param.as_deref(), Some("refunds"), "{too_much}");
    let object = json_line::line(r#"{"object":"payment_record","id":"pr_1"}"#, 1).unwrap_err();
    assert!(object.message.contains("CSV"), "{object}");
    assert!(json_line::line("[1, 2]", 4).is_err());
}

fn ready(id: &str, created: i64) -> ReadyLine {
    let header = ["id", "currency", "amount_requested", "created"];
    let created_text = created.to_string();
    prepare(
        csv_line(&header, &[id, "usd", "10", created_text.as_str()]).unwrap(),
        false,
    )
    .unwrap()
}

fn applied(lines: Vec<ReadyLine>) -> Vec<String> {
    let mut sequencer = Sequencer::default();
    let mut order = Vec::new();
    for line in lines {
        order.extend(sequencer.push(line).iter().map(|l| l.record_id().to_owned()));
    }
    order.extend(sequencer.finish().iter().map(|l| l.record_id().to_owned()));
    order
}

#[test]
fn each_second_is_applied_oldest_first_whichever_way_the_file_runs() {
    // Newest first, as the export writes: within a second, from the last line.
    let newest_first = vec![
        ready("pr_d", 20),
        ready("pr_c", 20),
        ready("pr_b", 10),
        ready("pr_a", 10),
    ];
    assert_eq!(applied(newest_first), ["pr_c", "pr_d", "pr_a", "pr_b"]);
    // Oldest first: file order.
    let oldest_first = vec![ready("pr_a", 10), ready("pr_b", 10), ready("pr_c", 20)];
    assert_eq!(applied(oldest_first), ["pr_a", "pr_b", "pr_c"]);
    // One second: the ids tell.
    assert_eq!(applied(vec![ready("pr_2", 5), ready("pr_1", 5)]), ["pr_1", "pr_2"]);
    assert_eq!(applied(vec![ready("pr_1", 5), ready("pr_2", 5)]), ["pr_1", "pr_2"]);
}
