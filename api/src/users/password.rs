//! Password hashing with argon2id. Hashing is deliberately slow and
//! memory-hungry (that is its point), so it runs on the blocking pool
//! behind a semaphore: a burst of logins must not starve request handling
//! or exhaust memory.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::Argon2;
use tokio::sync::Semaphore;

use super::legacy_hash::{verify_legacy, Scheme};

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against when the account
    /// does not exist, so that answer takes as long as a wrong password.
    decoy: Arc<String>,
    /// Hashes and checks run so far: what a refusal that should have been
    /// cheap would show up in.
    runs: Arc<AtomicU64>,
}

impl Hasher {
    /// # Errors
    /// When the decoy cannot be hashed (never, with argon2's defaults).
    pub async fn new() -> anyhow::Result<Self> {
        let permits = Arc::new(Semaphore::new(
            std::thread::available_parallelism().map_or(2, |n| n.get()),
        ));
        let decoy_password = uuid_like();
        let decoy = tokio::task::spawn_blocking(move || hash_blocking(&decoy_password)).await??;
        Ok(Self {
            permits,
            decoy: Arc::new(decoy),
            runs: Arc::new(AtomicU64::new(0)),
        })
    }

    /// How many hashes and checks this hasher has run.
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// # Errors
    /// When hashing fails (never, with argon2's defaults).
    pub async fn hash(&self, password: &str) -> anyhow::Result<String> {
        let _permit = self.permits.acquire().await?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let password = password.to_owned();
        tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
    }

    /// Whether `password` matches `hash`; with no hash (unknown account),
    /// checks against the decoy and answers `false` after the same work.
    ///
    /// # Errors
    /// When the blocking pool fails.
    pub async fn verify(&self, password: &str, hash: Option<&str>) -> anyhow::Result<bool> {
        Ok(matches!(
            self.check(password, hash).await?,
            Check::Matched { .. }
        ))
    }

    /// Checks `password` against `hash` in whichever scheme wrote it (ours
    /// or the old back end's). An unknown account, and a hash in a format
    /// we cannot check, cost the same argon2 work as a wrong password.
    ///
    /// # Errors
    /// When the blocking pool fails.
    pub async fn check(&self, password: &str, hash: Option<&str>) -> anyhow::Result<Check> {
        let _permit = self.permits.acquire().await?;
        self.runs.fetch_add(1, Ordering::Relaxed);
        let password = password.to_owned();
        let scheme = hash.and_then(Scheme::of);
        let stored = match (hash, scheme) {
            (Some(hash), Some(_)) => hash.to_owned(),
            _ => self.decoy.as_str().to_owned(),
        };
        let matched = tokio::task::spawn_blocking(move || match scheme {
            Some(Scheme::Argon2) | None => verify_argon2(&password, &stored),
            Some(legacy) => verify_legacy(legacy, &password, &stored),
        })
        .await?;
        Ok(match (hash, scheme) {
            (None, _) => Check::Mismatch,
            (Some(_), None) => Check::UnknownFormat,
            (Some(_), Some(_)) if !matched => Check::Mismatch,
            (Some(_), Some(scheme)) => Check::Matched {
                rehash: scheme != Scheme::Argon2,
            },
        })
    }
}

/// The outcome of a password check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Right password; `rehash` when it is stored in an old scheme and
    /// should be replaced by argon2id now that we hold the password.
    Matched { rehash: bool },
    /// Wrong password, or no such account.
    Mismatch,
    /// The stored hash is in a format we cannot check: only a reset helps.
    UnknownFormat,
}

fn verify_argon2(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| anyhow::anyhow!("argon2 failed: {err}"))
}

fn uuid_like() -> String {
    use rand::Rng;
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_the_decoy_never_matches() {
        let hasher = Hasher::new().await.expect("hasher");
        let hash = hasher.hash("correct horse").await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(hasher
            .verify("correct horse", Some(&hash))
            .await
            .expect("verify"));
        assert!(!hasher
            .verify("wrong horse", Some(&hash))
            .await
            .expect("verify"));
        assert!(!hasher.verify("correct horse", None).await.expect("verify"));
        assert!(!hasher
            .verify("x", Some("not a hash"))
            .await
            .expect("verify"));
    }
}
