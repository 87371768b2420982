//! Failed-login counting, kept in MongoDB (`login_attempts`, expired by a
//! TTL index) so every instance counts against the same limits.
//!
//! An attempt is *reserved* before the password is checked: the counter is
//! raised only while it is under the limit, in one conditional write, so
//! forty concurrent guesses against a limit of five run five hashes and
//! answer 429 to the rest. A successful sign-in gives its reservation back
//! (and clears what it proved wrong); a failed one leaves it counted.
//!
//! Sign-ins count so that nobody can lock an account's owner out (OWASP's
//! "device cookies"): a client that signed in to the account before shows
//! its device credential and counts on its own (that device, and the
//! address), never against the account as a whole. Anyone else counts per
//! client address, per (account, address), and against the account's limit
//! for unknown clients: past it, unknown clients are refused while the
//! owner's known devices still get in with the right password.

use crate::indexes::IndexSpec;
use std::time::Duration;

use mongodb::bson::{doc, DateTime, Document};
use mongodb::options::ReturnDocument;
use mongodb::{Collection, Database};

use crate::config::AuthSettings;
use crate::db::is_duplicate_key;

pub const LOGIN_ATTEMPTS: &str = "login_attempts";
/// Concurrent first attempts on one key race to create its counter; the
/// losers look again this many times before giving up.
const CREATE_RACE_RETRIES: usize = 5;

#[derive(Clone)]
pub struct LoginLimiter {
    attempts: Collection<Document>,
    /// Prefix of this limiter's counters: login failures and password-reset
    /// requests count apart in the same collection.
    scope: &'static str,
    /// Per account, from clients it does not know (every client, for
    /// resets).
    per_account: u32,
    /// Per (account, address), and per known device; `None` for resets,
    /// which count per account and per address only.
    per_client: Option<u32>,
    per_ip: u32,
    window: Duration,
}

/// Who is asking, as far as the limits care.
#[derive(Debug, Clone, Copy)]
pub enum Client<'a> {
    /// A client with no credential of this account's devices.
    Unknown { address: &'a str },
    /// A device that signed in to this account before (its nonce).
    Known { address: &'a str, device: &'a str },
}

/// A reserved attempt; hand it back on success.
#[derive(Debug)]
pub struct Attempt {
    /// Counters a success clears: what it proved wrong about this client.
    cleared: Vec<String>,
    ip_key: String,
}

/// Whether the attempt may go on.
#[derive(Debug)]
pub enum Reservation {
    Granted(Attempt),
    /// Over a limit: try again after this many seconds.
    Blocked {
        retry_after_secs: u64,
    },
}

impl LoginLimiter {
    pub fn new(db: &Database, settings: &AuthSettings) -> Self {
        Self {
            attempts: db.collection(LOGIN_ATTEMPTS),
            scope: "",
            per_account: settings.failures_per_account_unknown,
            per_client: Some(settings.failures_per_account),
            per_ip: settings.failures_per_ip,
            window: settings.failure_window,
        }
    }

    /// Counts password-reset requests, every one of them, whether or not
    /// the address has an account: the limit answers the same either way.
    pub fn for_resets(db: &Database, settings: &AuthSettings) -> Self {
        Self {
            attempts: db.collection(LOGIN_ATTEMPTS),
            scope: "reset:",
            per_account: settings.resets_per_account,
            per_client: None,
            per_ip: settings.resets_per_ip,
            window: settings.reset_window,
        }
    }

    pub fn indexes() -> Vec<IndexSpec> {
        vec![IndexSpec::expiring(
            LOGIN_ATTEMPTS,
            "expires_at",
            "expires_at_ttl",
        )]
    }

    /// Reserves one attempt for `account` from `client`, or says how long
    /// it must wait.
    ///
    /// # Errors
    /// Database failures.
    pub async fn reserve(
        &self,
        account: &str,
        client: Client<'_>,
    ) -> mongodb::error::Result<Reservation> {
        let scope = self.scope;
        let (address, mut limits) = match (client, self.per_client) {
            (Client::Known { address, device }, Some(per_device)) => (
                address,
                vec![(format!("{scope}device:{device}"), per_device)],
            ),
            (Client::Unknown { address } | Client::Known { address, .. }, per_client) => {
                let mut limits = Vec::new();
                if let Some(per_client) = per_client {
                    limits.push((format!("{scope}pair:{account}|{address}"), per_client));
                }
                limits.push((format!("{scope}account:{account}"), self.per_account));
                (address, limits)
            }
        };
        limits.push((format!("{scope}ip:{address}"), self.per_ip));
        let mut taken: Vec<String> = Vec::with_capacity(limits.len());
        for (key, limit) in limits {
            if let Some(wait) = self.take(&key, limit).await? {
                for key in &taken {
                    self.give_back(key).await;
                }
                return Ok(Reservation::Blocked {
                    retry_after_secs: wait,
                });
            }
            taken.push(key);
        }
        let ip_key = taken.pop().unwrap_or_default();
        Ok(Reservation::Granted(Attempt {
            cleared: taken,
            ip_key,
        }))
    }

    /// The attempt signed in: what it counted against the account (the
    /// pair, the device, the account's unknown-client count) starts afresh,
    /// and the address gets its reservation back (a success is not a
    /// failure).
    pub async fn succeeded(&self, attempt: Attempt) {
        for key in &attempt.cleared {
            if let Err(err) = self.attempts.delete_one(doc! { "_id": key }).await {
                tracing::warn!(error = %err, "could not clear an account's failed logins");
            }
        }
        self.give_back(&attempt.ip_key).await;
    }

    async fn give_back(&self, key: &str) {
        if let Err(err) = self
            .attempts
            .update_one(
                doc! { "_id": key, "count": { "$gt": 0 } },
                doc! { "$inc": { "count": -1_i64 } },
            )
            .await
        {
            tracing::warn!(error = %err, key, "could not give a login attempt back");
        }
    }

    /// Raises `key`'s count if it is under `limit`; otherwise answers the
    /// seconds until its window ends.
    async fn take(&self, key: &str, limit: u32) -> mongodb::error::Result<Option<u64>> {
        let window_ms = i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX);
        for _ in 0..CREATE_RACE_RETRIES {
            let now = DateTime::now();
            // A window that is over but not yet removed by the TTL monitor
            // (which runs about once a minute) starts again.
            self.attempts
                .delete_one(doc! { "_id": key, "expires_at": { "$lte": now } })
                .await?;
            let raised = self
                .attempts
                .find_one_and_update(
                    doc! { "_id": key, "count": { "$lt": i64::from(limit) } },
                    doc! {
                        "$inc": { "count": 1_i64 },
                        "$setOnInsert": {
                            "expires_at": DateTime::from_millis(now.timestamp_millis().saturating_add(window_ms)),
                        },
                    },
                )
                .upsert(true)
                .return_document(ReturnDocument::After)
                .await;
            match raised {
                Ok(_) => return Ok(None),
                Err(err) if is_duplicate_key(&err) => {
                    // Either the count is at the limit, or another attempt
                    // created the counter a moment ago: look.
                    let current = self.attempts.find_one(doc! { "_id": key }).await?;
                    let Some(current) = current else { continue };
                    let count = current.get_i64("count").unwrap_or(i64::MAX);
                    if count < i64::from(limit) {
                        continue;
                    }
                    let ends = current
                        .get_datetime("expires_at")
                        .map_or(now.timestamp_millis() + window_ms, |at| {
                            at.timestamp_millis()
                        });
                    let wait_ms = ends.saturating_sub(now.timestamp_millis()).max(1000);
                    return Ok(Some(u64::try_from(wait_ms / 1000).unwrap_or(1).max(1)));
                }
                Err(err) => return Err(err),
            }
        }
        // Still racing after several looks: count it as over the limit
        // rather than let an unbounded burst through.
        Ok(Some(1))
    }
}
