//! Random base62 text, for object ids, API keys and request ids.

use rand::Rng;

/// The base62 alphabet, in ASCII order: fixed-width base62 text sorts as its number
/// (object ids rely on it, `records::ids`).
pub const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` random base62 characters from the OS-seeded CSPRNG.
pub fn random_base62(n: usize) -> String {
    let mut rng = rand::rng();
    (0..n)
        .map(|_| BASE62[rng.random_range(0..BASE62.len())] as char)
        .collect()
}
