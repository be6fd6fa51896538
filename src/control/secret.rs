//! The control interface's secrets: random tokens (the forms' CSRF
//! tokens, an id when the id file fails) and comparing secrets (passwords,
//! tokens) in constant time.

use std::fmt::Write as _;

/// 128 random bits in hex, from the kernel.
pub fn random_token() -> String {
    use std::io::Read as _;
    let mut bytes = [0u8; 16];
    if let Err(e) = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)) {
        // Never seen on Linux; the hasher keys are random per process too.
        tracing::warn!("cannot read /dev/urandom ({e}); using the hasher's random keys");
        use std::hash::{BuildHasher as _, Hasher as _};
        for chunk in bytes.chunks_mut(8) {
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u8(0);
            chunk.copy_from_slice(&h.finish().to_le_bytes());
        }
    }
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Compares secrets (passwords, tokens) without stopping at the first
/// difference, so the time taken does not tell how much of one was right.
pub fn same_secret(a: &str, b: &str) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(a.as_bytes(), b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_is_32_hex_digits_and_differs_each_time() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
