//! The Payment Records report calls below the HTTP surface: their parameters, declared once
//! (`params`, with the values particular to them in `values`), and what each comes to in the
//! domain (`report`). The API's handlers read them from a request; `payrec import` from a
//! file's line, through the same declarations, so a line is refused exactly when the same
//! call over HTTP would be, with the same message.

pub mod params;
mod report;
pub mod values;

pub use report::{NewPaymentIds, new_payment, refund_report};
