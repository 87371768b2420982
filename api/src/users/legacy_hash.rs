//! Password hashes written by the old Python back end and the libraries
//! such back ends use: bcrypt (`$2a$`, `$2b$`, `$2y$`), passlib's
//! `$pbkdf2-sha256$` and sha256_crypt (`$5$`), Werkzeug's
//! `pbkdf2:sha256:N$salt$hex`. Each is checked once at sign-in and then
//! replaced by argon2id, so these paths shrink as users come back.
//!
//! The work factors come from stored data: each is capped, so a corrupt or
//! hostile hash cannot tie a blocking thread up for minutes.

use base64::Engine;
use sha2::Sha256;

/// How a stored hash was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Ours: `$argon2id$...`.
    Argon2,
    Bcrypt,
    PasslibPbkdf2Sha256,
    Sha256Crypt,
    WerkzeugPbkdf2Sha256,
}

impl Scheme {
    /// The scheme of `hash`, or `None` for a format we cannot check.
    pub fn of(hash: &str) -> Option<Self> {
        let scheme = if hash.starts_with("$argon2") {
            Self::Argon2
        } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
            Self::Bcrypt
        } else if hash.starts_with("$pbkdf2-sha256$") {
            Self::PasslibPbkdf2Sha256
        } else if hash.starts_with("$5$") || hash.starts_with("$sha256_crypt$") {
            Self::Sha256Crypt
        } else if hash.starts_with("pbkdf2:sha256:") {
            Self::WerkzeugPbkdf2Sha256
        } else {
            return None;
        };
        Some(scheme)
    }
}

/// bcrypt cost 18 is about a minute here; real hashes use 10 to 14.
const MAX_BCRYPT_COST: u32 = 16;
/// Werkzeug 3 writes 1,000,000 iterations; passlib's default is 29,000.
const MAX_PBKDF2_ITERATIONS: u32 = 2_000_000;
/// passlib's sha256_crypt default is 535,000 rounds.
const MAX_SHA_CRYPT_ROUNDS: u32 = 2_000_000;

/// Whether `password` matches `hash`, a hash of one of the old schemes
/// (not argon2, which the caller checks). Malformed hashes never match.
/// Blocking: call it on the blocking pool.
pub fn verify_legacy(scheme: Scheme, password: &str, hash: &str) -> bool {
    match scheme {
        Scheme::Argon2 => false,
        Scheme::Bcrypt => {
            bcrypt_cost(hash).is_some_and(|cost| cost <= MAX_BCRYPT_COST)
                && bcrypt::verify(password, hash).unwrap_or(false)
        }
        Scheme::PasslibPbkdf2Sha256 => passlib_pbkdf2(password, hash).unwrap_or(false),
        Scheme::Sha256Crypt => sha256_crypt(password, hash).unwrap_or(false),
        Scheme::WerkzeugPbkdf2Sha256 => werkzeug_pbkdf2(password, hash).unwrap_or(false),
    }
}

fn bcrypt_cost(hash: &str) -> Option<u32> {
    hash.get(4..6)?.parse().ok()
}

/// passlib's "adapted base64": `.` for `+`, no padding.
fn ab64_decode(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(text.replace('.', "+"))
        .ok()
}

fn pbkdf2_sha256(password: &str, salt: &[u8], iterations: u32, len: usize) -> Option<Vec<u8>> {
    if iterations == 0 || iterations > MAX_PBKDF2_ITERATIONS || !(16..=64).contains(&len) {
        return None;
    }
    let mut out = vec![0u8; len];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.as_bytes(), salt, iterations, &mut out);
    Some(out)
}

/// `$pbkdf2-sha256$ROUNDS$SALT$CHECKSUM`, salt and checksum in ab64.
fn passlib_pbkdf2(password: &str, hash: &str) -> Option<bool> {
    let mut parts = hash.strip_prefix("$pbkdf2-sha256$")?.split('$');
    let iterations: u32 = parts.next()?.parse().ok()?;
    let salt = ab64_decode(parts.next()?)?;
    let expected = ab64_decode(parts.next()?)?;
    let derived = pbkdf2_sha256(password, &salt, iterations, expected.len())?;
    Some(constant_time_eq(&derived, &expected))
}

/// `pbkdf2:sha256:ITERATIONS$SALT$HEX`; the salt is used as text.
fn werkzeug_pbkdf2(password: &str, hash: &str) -> Option<bool> {
    let (method, rest) = hash.split_once('$')?;
    let iterations: u32 = method.strip_prefix("pbkdf2:sha256:")?.parse().ok()?;
    let (salt, hex_digest) = rest.split_once('$')?;
    let expected = hex::decode(hex_digest).ok()?;
    let derived = pbkdf2_sha256(password, salt.as_bytes(), iterations, expected.len())?;
    Some(constant_time_eq(&derived, &expected))
}

/// `$5$[rounds=N$]SALT$CHECKSUM` (passlib's sha256_crypt writes this too).
fn sha256_crypt(password: &str, hash: &str) -> Option<bool> {
    let hash = match hash.strip_prefix("$sha256_crypt$") {
        Some(rest) => format!("$5${rest}"),
        None => hash.to_owned(),
    };
    let rounds = hash
        .strip_prefix("$5$rounds=")
        .and_then(|rest| rest.split('$').next())
        .map_or(Some(5000), |n| n.parse::<u32>().ok())?;
    if rounds > MAX_SHA_CRYPT_ROUNDS {
        return None;
    }
    Some(sha_crypt::sha256_check(password, &hash).is_ok())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    // Made with the reference implementations (Python bcrypt 5.0.0,
    // passlib 1.7.4, Werkzeug 3.1.9) for the password below; `$2y$` is
    // PHP's name for the same algorithm as `$2b$`.
    const PASSWORD: &str = "Avenue-2024!";
    const VECTORS: &[&str] = &[
        "$2b$04$/qYbJvLwlI6eUQv8.tO2fu/c8.iDTBu.KeSs61uvWwqysUe9ndnm.",
        "$2a$04$/xPoyI36w6D7AGWice86.OzMMVY3.AwmyP0jShpAcUtx8kvhqAdJm",
        "$2y$04$/qYbJvLwlI6eUQv8.tO2fu/c8.iDTBu.KeSs61uvWwqysUe9ndnm.",
        "$pbkdf2-sha256$1000$PUdICSGktBaCMAYAQAghpA$NY.BrkbF0xMM.a/Vu5AGd0CDON9cEXM1EIgUP5ZrN4Y",
        "$5$HKLGJ/kjna/BbhIB$BYY/Fly82PrQRZyI3y7IuOeUfX71LuvFeN/qrmQswo8",
        "pbkdf2:sha256:1000$AxrpeOp21wN3uFbK$d7bca9f1f4aaec087b2116c3dec7e03e5035be43c4ba101815bfb4f76477d479",
    ];

    #[test]
    fn reference_hashes_verify_and_wrong_passwords_do_not() {
        for hash in VECTORS {
            let scheme = Scheme::of(hash).expect("a known scheme");
            assert!(verify_legacy(scheme, PASSWORD, hash), "{hash}");
            assert!(!verify_legacy(scheme, "avenue-2024!", hash), "{hash}");
        }
    }

    #[test]
    fn malformed_and_unknown_hashes_never_match() {
        assert_eq!(Scheme::of("5f4dcc3b5aa765d61d8327deb882cf99"), None);
        assert_eq!(Scheme::of(""), None);
        for broken in [
            "$2b$04$short",
            "$2b$31$/qYbJvLwlI6eUQv8.tO2fu/c8.iDTBu.KeSs61uvWwqysUe9ndnm.",
            "$pbkdf2-sha256$notanumber$x$y",
            "$pbkdf2-sha256$999999999$PUdICSGktBaCMAYAQAghpA$NY.BrkbF0xMM.a/Vu5AGd0CDON9cEXM1EIgUP5ZrN4Y",
            "pbkdf2:sha256:1000$salt$nothex",
            "$5$rounds=999999999$salt$BYY/Fly82PrQRZyI3y7IuOeUfX71LuvFeN/qrmQswo8",
        ] {
            let scheme = Scheme::of(broken).expect("prefix recognised");
            assert!(!verify_legacy(scheme, PASSWORD, broken), "{broken}");
        }
    }
}
