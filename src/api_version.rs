//! Stripe API versions: those payrec knows (the general-availability versions in which Payment
//! Records exist), the one it speaks when a request or an endpoint names none, and the check of
//! a version a client names (`Stripe-Version`, a webhook endpoint's `api_version`).

/// The version of a response without `Stripe-Version` and of every event as the API returns it
/// (an account's default version): the one stripe-python 16.1.0 pins.
pub const API_VERSION: &str = "2026-10-28.endive";

/// Every version payrec accepts, oldest first: Stripe's general-availability versions from the
/// first with Payment Records to the newest (previews, `.preview`, are not among them).
pub const API_VERSIONS: &[&str] = &[
    "2025-10-29.clover",
    "2025-11-17.clover",
    "2025-12-15.clover",
    "2026-01-28.clover",
    "2026-02-25.clover",
    "2026-03-25.dahlia",
    "2026-04-22.dahlia",
    "2026-05-27.dahlia",
    "2026-06-24.dahlia",
    "2026-07-29.dahlia",
    "2026-08-26.dahlia",
    "2026-09-30.endive",
    "2026-10-28.endive",
    "2026-11-18.endive",
];

/// The newest version payrec knows.
pub const API_VERSION_NEWEST: &str = API_VERSIONS[API_VERSIONS.len() - 1];

const _: () = assert!(API_VERSIONS.len() <= 64);

/// `version` as one of `API_VERSIONS`, if it is one.
pub fn known(version: &str) -> Option<&'static str> {
    API_VERSIONS.iter().copied().find(|v| *v == version)
}

/// An event's JSON as delivered to an endpoint pinned to `version`: the same event with its
/// `api_version` naming that version. Payment Records and their attempts have the same shape in
/// every version of `API_VERSIONS`, so nothing else differs.
pub fn event_as_of(event: String, version: &str) -> String {
    const FIELD: &str = ",\"api_version\":\"";
    debug_assert!(
        known(version).is_some(),
        "an endpoint's version is checked when it is set"
    );
    if version == API_VERSION {
        return event;
    }
    // The field is the event's fourth, after `id`, `object` and `account` (ids without quotes):
    // its first occurrence is the event's own, never one inside `data`.
    let Some(start) = event.find(FIELD).map(|at| at + FIELD.len()) else {
        return event;
    };
    let Some(len) = event[start..].find('"') else {
        return event;
    };
    let mut out = String::with_capacity(event.len() + version.len());
    out.push_str(&event[..start]);
    out.push_str(version);
    out.push_str(&event[start + len..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_versions_are_in_order_without_repeats_and_include_the_default() {
        assert!(API_VERSIONS.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(known(API_VERSION), Some(API_VERSION));
        assert_eq!(known("2026-11-18.preview"), None);
        assert_eq!(known("garbage"), None);
    }

    #[test]
    fn an_event_as_of_another_version_changes_its_api_version_alone() {
        let event = format!(
            r#"{{"id":"evt_1","object":"event","account":"acct_1","api_version":"{API_VERSION}","data":{{"object":{{"api_version":"{API_VERSION}"}}}}}}"#
        );
        let pinned = event_as_of(event.clone(), "2026-07-29.dahlia");
        let value: serde_json::Value = serde_json::from_str(&pinned).expect("JSON");
        assert_eq!(value["api_version"], "2026-07-29.dahlia");
        assert_eq!(value["data"]["object"]["api_version"], API_VERSION);
        assert_eq!(event_as_of(event.clone(), API_VERSION), event);
    }
}
