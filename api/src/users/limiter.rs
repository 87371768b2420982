//! Failed-login counting per account and per client address, kept in
//! MongoDB (`login_attempts`, expired by a TTL index) so every instance
//! counts against the same limits.
//!
//! An attempt is *reserved* before the password is checked: the counter is
//! raised only while it is under the limit, in one conditional write, so
//! forty concurrent guesses against a limit of five run five hashes and
//! answer 429 to the rest. A successful sign-in gives its reservation back
//! (and clears the account's count); a failed one leaves it counted.

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
    per_account: u32,
    per_ip: u32,
    window: Duration,
}

/// A reserved attempt; hand it back on success.
#[derive(Debug)]
pub struct Attempt {
    account_key: String,
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
            per_account: settings.failures_per_account,
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

    /// Reserves one attempt for `account` from `ip`, or says how long both
    /// must wait.
    ///
    /// # Errors
    /// Database failures.
    pub async fn reserve(&self, account: &str, ip: &str) -> mongodb::error::Result<Reservation> {
        let account_key = format!("{}account:{account}", self.scope);
        let ip_key = format!("{}ip:{ip}", self.scope);
        if let Some(wait) = self.take(&account_key, self.per_account).await? {
            return Ok(Reservation::Blocked {
                retry_after_secs: wait,
            });
        }
        if let Some(wait) = self.take(&ip_key, self.per_ip).await? {
            self.give_back(&account_key).await;
            return Ok(Reservation::Blocked {
                retry_after_secs: wait,
            });
        }
        Ok(Reservation::Granted(Attempt {
            account_key,
            ip_key,
        }))
    }

    /// The attempt signed in: the account starts afresh, and the address
    /// gets its reservation back (a success is not a failure).
    pub async fn succeeded(&self, attempt: Attempt) {
        if let Err(err) = self
            .attempts
            .delete_one(doc! { "_id": &attempt.account_key })
            .await
        {
            tracing::warn!(error = %err, "could not clear an account's failed logins");
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
