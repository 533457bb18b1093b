//! The dashboard's paths, said once: the router, the links, the forms and the redirects all use
//! these.

/// Where the dashboard lives (every path below starts with it).
pub const PREFIX: &str = "/dashboard";
/// The overview, the dashboard's home.
pub const HOME: &str = "/dashboard/";
pub const SIGN_IN: &str = "/dashboard/sign-in";
pub const SIGN_OUT: &str = "/dashboard/sign-out";
pub const PAYMENTS: &str = "/dashboard/payments";
pub const PAYMENTS_CSV: &str = "/dashboard/payments/export.csv";
/// A payment's page, as the router matches it.
pub const PAYMENT_ROUTE: &str = "/dashboard/payments/{id}";
pub const WEBHOOKS: &str = "/dashboard/webhooks";
pub const RESEND: &str = "/dashboard/webhooks/resend";
pub const RECONCILIATION: &str = "/dashboard/reconciliation";
pub const RESOLVE: &str = "/dashboard/reconciliation/resolve";
pub const STYLESHEET: &str = "/dashboard/assets/dashboard.css";

/// The page of payment `id`.
pub fn payment(id: &str) -> String {
    format!("{PAYMENTS}/{id}")
}

const _: () = assert!(HOME.len() == PREFIX.len() + 1);
