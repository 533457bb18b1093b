//! Ids of the seeded objects. Bulk seeding derives them from the record's index and a per-run
//! salt, so workers pick a random existing record without the bench holding a million strings
//! (which would count in the RSS it reports). The ids look like payrec's (`records::ids`): a
//! prefix, a time part (here: a past millisecond per index, so seeded records sort in the order
//! they were "made", as real ones do) and base62 characters derived from the index.

use payrec::base62::BASE62;
use payrec::records::ids::{OBJECT_ID_CHARS, OBJECT_ID_TIME_CHARS, time_prefix};
use rand::Rng;
use rand::rngs::SmallRng;

/// Base62 characters holding a whole u64 (62^11 > 2^64).
const U64_BASE62_CHARS: usize = 11;
/// Characters after the time part and the unique part.
const FILL_CHARS: usize = OBJECT_ID_CHARS - OBJECT_ID_TIME_CHARS - U64_BASE62_CHARS;
/// The millisecond of seeded record 0 (November 2023): seeded records predate the run.
const SEEDED_EPOCH_MS: u64 = 1_700_000_000_000;

/// Which of a seeded record's objects an id names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Object {
    Record,
    /// The first (failed) attempt.
    FirstAttempt,
    /// The second (guaranteed) attempt.
    SecondAttempt,
}

/// splitmix64's finalizer: a bijection on u64, so distinct inputs give distinct ids.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn push_base62(out: &mut String, mut v: u64, chars: usize) {
    let mut digits = [b'0'; U64_BASE62_CHARS];
    for d in digits.iter_mut().take(chars) {
        *d = BASE62[(v % 62) as usize];
        v /= 62;
    }
    out.push_str(std::str::from_utf8(&digits[..chars]).expect("base62 is ASCII"));
}

/// The id of seeded object `object` of record `index`.
pub fn derived_id(salt: u64, index: u64, object: Object) -> String {
    let (prefix, lane) = match object {
        Object::Record => ("pr_", 0u64),
        Object::FirstAttempt => ("par_", 1),
        Object::SecondAttempt => ("par_", 2),
    };
    // Unique per (index, lane): `mix` is a bijection. The fill only spreads the rest.
    let unique = mix(salt ^ mix(index.wrapping_mul(4).wrapping_add(lane)));
    let mut id = String::with_capacity(prefix.len() + OBJECT_ID_CHARS);
    id.push_str(prefix);
    id.push_str(&time_prefix(SEEDED_EPOCH_MS + index));
    push_base62(&mut id, unique, U64_BASE62_CHARS);
    push_base62(&mut id, mix(unique ^ salt.rotate_left(17)), FILL_CHARS);
    id
}

/// The processor `payment_reference` of seeded record `index`: unique, as a bank's would be.
pub fn derived_reference(salt: u64, index: u64) -> String {
    format!("ref_{:016x}", mix(salt ^ mix(index.wrapping_mul(4).wrapping_add(3))))
}

/// The records that `retrieve` and `list` pick from.
#[derive(Debug)]
pub enum RecordIds {
    /// Bulk-seeded: record `i` of `count` has `derived_id(salt, i, Record)`.
    Derived { salt: u64, count: u64 },
    /// Seeded through the API (with --url): the ids the server returned.
    Listed(Vec<String>),
}

impl RecordIds {
    pub fn len(&self) -> u64 {
        match self {
            RecordIds::Derived { count, .. } => *count,
            RecordIds::Listed(ids) => ids.len() as u64,
        }
    }

    /// A uniformly random seeded record.
    pub fn pick(&self, rng: &mut SmallRng) -> String {
        match self {
            RecordIds::Derived { salt, count } => derived_id(*salt, rng.random_range(0..*count), Object::Record),
            RecordIds::Listed(ids) => ids[rng.random_range(0..ids.len())].clone(),
        }
    }

    /// The processor reference of a uniformly random bulk-seeded record.
    pub fn pick_reference(&self, rng: &mut SmallRng) -> Option<String> {
        match self {
            RecordIds::Derived { salt, count } => Some(derived_reference(*salt, rng.random_range(0..*count))),
            RecordIds::Listed(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_distinct_and_shaped_like_payrecs() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000 {
            for object in [Object::Record, Object::FirstAttempt, Object::SecondAttempt] {
                let id = derived_id(42, i, object);
                assert_eq!(id.len(), id.find('_').unwrap() + 1 + OBJECT_ID_CHARS, "{id}");
                assert!(seen.insert(id));
            }
        }
    }
}
