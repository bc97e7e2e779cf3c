//! Secrets: host and player tokens are random, shown once, and kept only as SHA-256 hashes,
//! compared in constant time.

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A fresh 256-bit secret as 64 hex characters.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Does `token` hash to `stored_hash`? Constant time in the hash comparison.
pub fn token_matches(token: &str, stored_hash: &str) -> bool {
    hash_token(token)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// Constant-time equality of two secrets of any length (the admin token).
pub fn secrets_equal(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes())
        .ct_eq(&Sha256::digest(b.as_bytes()))
        .into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// A random 6-digit room code such as "048213".
pub fn new_room_code() -> String {
    format!("{:06}", rand::random_range(0..1_000_000u32))
}

/// Six ASCII digits: the only shape a room code has. Anything else names no room.
pub fn is_room_code(s: &str) -> bool {
    s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_verify_by_hash() {
        let (a, b) = (new_token(), new_token());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        let h = hash_token(&a);
        assert!(token_matches(&a, &h));
        assert!(!token_matches(&b, &h));
        assert!(!token_matches("", &h));
    }

    #[test]
    fn codes_have_six_digits() {
        for _ in 0..200 {
            let c = new_room_code();
            assert_eq!(c.len(), 6);
            assert!(c.chars().all(|c| c.is_ascii_digit()));
            assert!(is_room_code(&c));
        }
        for bad in [
            "",
            "12345",
            "1234567",
            "12a456",
            "１２３４５６",
            "12\u{0}456",
        ] {
            assert!(!is_room_code(bad), "{bad:?}");
        }
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(secrets_equal("admin-secret", "admin-secret"));
        assert!(!secrets_equal("admin-secret", "admin-secreT"));
        assert!(!secrets_equal("admin", "admin-secret"));
    }
}
