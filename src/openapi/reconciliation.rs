//! Reconciliation runs and their outcomes in the API description, field for field as
//! `reconcile::kept` writes them.

use serde_json::{Value, json};

use super::schema::{id_pattern, list, nullable, nullable_string, object};
use crate::api::reconciliation::{BREAKS_PATH, RESULTS_PATH, RUNS_PATH};
use crate::reconcile::CATEGORIES;
use crate::reconcile::kept::{RESULT_ID_PREFIX, RUN_ID_PREFIX};

fn nullable_integer() -> Value {
    json!({ "type": ["integer", "null"] })
}

fn run() -> Value {
    let counts: serde_json::Map<String, Value> = CATEGORIES
        .iter()
        .map(|c| (c.as_str().to_owned(), json!({ "type": "integer", "minimum": 0 })))
        .collect();
    object(
        "A statement or settlement file judged against the ledger by `payrec reconcile`; the same \
         file judged again is the same run.",
        json!({
            "id": id_pattern(RUN_ID_PREFIX),
            "object": { "type": "string", "const": "reconciliation_run" },
            "created": { "type": "integer", "description": "Unix timestamp in seconds." },
            "livemode": { "type": "boolean" },
            "status": { "type": "string", "enum": ["running", "complete"] },
            "file": object("The file judged.", json!({
                "name": { "type": "string" },
                "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$" },
                "format": { "type": "string", "enum": ["camt053", "mt940", "bai2", "csv"] },
            })),
            "rules": { "type": "object", "description": "The matching rules of the last pass that changed something." },
            "window": object("The payments compared with the file (missing_in_file).", json!({
                "start": nullable_integer(),
                "end": nullable_integer(),
            })),
            "counts": object("Outcomes per category.", Value::Object(counts)),
            "open_breaks": { "type": "integer", "minimum": 0 },
            "ran_by": { "type": "string" },
            "completed_at": nullable_integer(),
        }),
    )
}

fn result() -> Value {
    let categories: Vec<&str> = CATEGORIES.iter().map(|c| c.as_str()).collect();
    object(
        "One outcome of a run: a line of the file, or a payment (of a payout, or one the file did \
         not name).",
        json!({
            "id": id_pattern(RESULT_ID_PREFIX),
            "object": { "type": "string", "const": "reconciliation_result" },
            "run": id_pattern(RUN_ID_PREFIX),
            "created": { "type": "integer", "description": "Unix timestamp in seconds." },
            "livemode": { "type": "boolean" },
            "category": { "type": "string", "enum": categories },
            "status": { "type": "string", "enum": ["matched", "open", "resolved"] },
            "line": nullable_integer(),
            "reference": { "type": "string" },
            "file_amount": nullable_integer(),
            "file_currency": nullable_string(),
            "file_date": nullable_integer(),
            "payment_record": nullable_string(),
            "payrec_object": nullable_string(),
            "payrec_amount": nullable_integer(),
            "payrec_currency": nullable_string(),
            "payrec_state": nullable_string(),
            "resolution": nullable(object("How the break was resolved.", json!({
                "type": { "type": "string", "enum": ["matched", "marked", "matched_by_run"] },
                "payment_record": nullable_string(),
                "reason": nullable_string(),
                "run": nullable_string(),
                "resolved_by": { "type": "string" },
                "resolved_at": { "type": "integer" },
            }))),
        }),
    )
}

pub fn schemas() -> Value {
    json!({
        "reconciliation_run": run(),
        "reconciliation_run_list": list("A page of runs, newest first.", RUNS_PATH, "reconciliation_run"),
        "reconciliation_result": result(),
        "reconciliation_result_list": list("A page of outcomes, newest first.", RESULTS_PATH, "reconciliation_result"),
        "reconciliation_break_list": list("A page of open breaks, newest first.", BREAKS_PATH, "reconciliation_result"),
    })
}
