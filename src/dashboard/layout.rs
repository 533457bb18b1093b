//! The page frame: the account, a test/live badge, the navigation and the sign-out form.

use maud::{DOCTYPE, Markup, html};

use super::paths;
use crate::store::Session;

/// A page outside the signed-in frame (sign in, refusals).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · payrec" }
                link rel="stylesheet" href=(paths::STYLESHEET);
            }
            body { (body) }
        }
    }
}

/// A signed-in page: `current` names the navigation entry it belongs to; `restricted`: the
/// session's key is read only.
pub fn page(session: &Session, restricted: bool, title: &str, current: &str, body: Markup) -> Markup {
    let tenant = &session.tenant;
    let (mode, badge) = if tenant.livemode {
        ("live", "badge live")
    } else {
        ("test", "badge test")
    };
    let nav = [
        ("Overview", paths::HOME),
        ("Payments", paths::PAYMENTS),
        ("Webhooks", paths::WEBHOOKS),
        ("Reconciliation", paths::RECONCILIATION),
    ];
    bare(
        title,
        html! {
            header.top {
                a.brand href=(paths::HOME) { "payrec" }
                span class=(badge) title="The mode of the key you signed in with" { (mode) " mode" }
                span.account { (tenant.account_id) }
                @if restricted { span.badge.restricted { "read only" } }
                nav {
                    @for (name, href) in nav {
                        a href=(href) aria-current=[(name == current).then_some("page")] { (name) }
                    }
                }
                form.sign-out method="post" action=(paths::SIGN_OUT) {
                    input type="hidden" name="csrf" value=(session.csrf);
                    button type="submit" { "Sign out" }
                }
            }
            main { (body) }
        },
    )
}
