//! Object ids: a prefix, then 24 base62 characters. The first characters are the creation time
//! in milliseconds, so ids made one after another sort together: every table and index keyed by
//! id takes new rows at its end, and a group commit writes a few shared B-tree pages instead of
//! one random page per object (BENCHMARKS.md measures the difference). The rest is random.

use crate::base62::{BASE62, random_base62};
use crate::clock::unix_now_millis;
use crate::records::model::{PaymentAttemptRecordId, PaymentRecordId};

/// Base62 characters after the prefix (`pr_`, `par_`, `evt_`, `we_`).
pub const OBJECT_ID_CHARS: usize = 24;
/// Leading characters holding the creation time in milliseconds since the epoch
/// (62^8 ms is about 6,900 years, so the width never changes).
pub const OBJECT_ID_TIME_CHARS: usize = 8;
const OBJECT_ID_RANDOM_CHARS: usize = OBJECT_ID_CHARS - OBJECT_ID_TIME_CHARS;
const _: () = assert!(
    OBJECT_ID_RANDOM_CHARS >= 16,
    "ids stay unguessable: at least 16 random characters"
);

/// The latest time a prefix tells apart (62^8 - 1 ms, in the year 8888); later times share it.
pub const TIME_PREFIX_MILLIS_MAX: u64 = 62u64.pow(OBJECT_ID_TIME_CHARS as u32) - 1;

/// `millis` as fixed-width base62; BASE62 is in ASCII order, so the text sorts as the number.
/// A time past `TIME_PREFIX_MILLIS_MAX` (an imported payment of the year 9999, which the API's
/// timestamps allow) takes the last prefix, so ids still sort no earlier than their time.
pub fn time_prefix(millis: u64) -> String {
    let mut digits = [b'0'; OBJECT_ID_TIME_CHARS];
    let mut rest = millis.min(TIME_PREFIX_MILLIS_MAX);
    for d in digits.iter_mut().rev() {
        *d = BASE62[(rest % 62) as usize];
        rest /= 62;
    }
    assert_eq!(rest, 0, "the time fits the prefix");
    String::from_utf8(digits.to_vec()).expect("base62 is ASCII")
}

pub fn new_object_id(prefix: &str) -> String {
    let mut id = String::with_capacity(prefix.len() + OBJECT_ID_CHARS);
    id.push_str(prefix);
    id.push_str(&time_prefix(unix_now_millis()));
    id.push_str(&random_base62(OBJECT_ID_RANDOM_CHARS));
    id
}

pub fn new_record_id() -> PaymentRecordId {
    PaymentRecordId::new_unchecked(new_object_id(PaymentRecordId::PREFIX))
}

pub fn new_attempt_id() -> PaymentAttemptRecordId {
    PaymentAttemptRecordId::new_unchecked(new_object_id(PaymentAttemptRecordId::PREFIX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_prefix_and_24_base62_characters() {
        let id = new_record_id();
        let rest = id.as_str().strip_prefix("pr_").expect("prefix");
        assert_eq!(rest.len(), OBJECT_ID_CHARS);
        assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(new_attempt_id().as_str().starts_with("par_"));
    }

    #[test]
    fn time_prefixes_sort_as_the_times() {
        let times = [0, 61, 62, 1_700_000_000_000, 1_700_000_000_001, 62u64.pow(8) - 1];
        for pair in times.windows(2) {
            assert!(time_prefix(pair[0]) < time_prefix(pair[1]), "{pair:?}");
        }
        assert_eq!(time_prefix(0), "00000000");
    }

    #[test]
    fn later_ids_sort_after_earlier_ones() {
        let first = new_record_id();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = new_record_id();
        assert!(first < second);
    }
}
