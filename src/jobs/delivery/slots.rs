//! The worker's attempts in flight, counted in all, per endpoint and per account: the bounds
//! that keep one endpoint, or one account's endpoints, from holding the slots of the others.

use std::collections::HashMap;

/// The bounds, and what is taken of them.
#[derive(Debug)]
pub struct Slots {
    total_max: usize,
    per_endpoint_max: usize,
    per_account_max: usize,
    total: usize,
    by_endpoint: HashMap<String, usize>,
    by_account: HashMap<String, usize>,
}

impl Slots {
    pub fn new(total_max: usize, per_endpoint_max: usize, per_account_max: usize) -> Slots {
        assert!(
            total_max > 0 && per_endpoint_max > 0 && per_account_max > 0,
            "bounds are positive"
        );
        Slots {
            total_max,
            per_endpoint_max,
            per_account_max,
            total: 0,
            by_endpoint: HashMap::new(),
            by_account: HashMap::new(),
        }
    }

    /// How many more attempts `endpoint` of `account` may start now.
    pub fn free(&self, endpoint: &str, account: &str) -> usize {
        let of = |map: &HashMap<String, usize>, key: &str| map.get(key).copied().unwrap_or(0);
        (self.per_endpoint_max.saturating_sub(of(&self.by_endpoint, endpoint)))
            .min(self.per_account_max.saturating_sub(of(&self.by_account, account)))
            .min(self.total_max - self.total)
    }

    pub fn take(&mut self, endpoint: &str, account: &str) {
        debug_assert!(self.free(endpoint, account) > 0, "a slot is taken only when free");
        self.total += 1;
        *self.by_endpoint.entry(endpoint.to_owned()).or_default() += 1;
        *self.by_account.entry(account.to_owned()).or_default() += 1;
    }

    pub fn release(&mut self, endpoint: &str, account: &str) {
        self.total -= 1;
        for (map, key) in [(&mut self.by_endpoint, endpoint), (&mut self.by_account, account)] {
            let n = map.get_mut(key).expect("a released slot was taken");
            *n -= 1;
            if *n == 0 {
                map.remove(key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_never_takes_more_than_its_share_however_many_endpoints_it_has() {
        let mut slots = Slots::new(64, 8, 16);
        for endpoint in 0..16 {
            let endpoint = format!("we_{endpoint}");
            while slots.free(&endpoint, "acct_tarpit") > 0 {
                slots.take(&endpoint, "acct_tarpit");
            }
        }
        assert_eq!(slots.total, 16, "the tarpit account holds its 16 slots");
        assert_eq!(
            slots.free("we_other", "acct_other"),
            8,
            "another account is not kept waiting"
        );
        slots.release("we_0", "acct_tarpit");
        assert_eq!(slots.free("we_0", "acct_tarpit"), 1);
        assert_eq!(slots.free("we_1", "acct_tarpit"), 0, "we_1 holds its own 8");
        assert!(slots.total < slots.total_max);
    }
}
