//! Failed-login counting per account and per client address. Only failures
//! count, so a user who types the right password is never locked out by
//! their own successes; a key over its limit is refused (429) before any
//! password is checked, until its window has passed.

use std::time::{Duration, Instant};

use moka::sync::Cache;

use crate::config::AuthSettings;

#[derive(Clone)]
pub struct LoginLimiter {
    /// key -> (failures, when the window began)
    failures: Cache<String, (u32, Instant)>,
    per_account: u32,
    per_ip: u32,
    window: Duration,
}

impl LoginLimiter {
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            failures: Cache::builder()
                .max_capacity(200_000)
                .time_to_idle(settings.failure_window)
                .build(),
            per_account: settings.failures_per_account,
            per_ip: settings.failures_per_ip,
            window: settings.failure_window,
        }
    }

    fn keys(account: &str, ip: &str) -> [(String, bool); 2] {
        [
            (format!("account:{account}"), true),
            (format!("ip:{ip}"), false),
        ]
    }

    /// Seconds to wait when either key is over its limit.
    pub fn blocked_for(&self, account: &str, ip: &str) -> Option<u64> {
        Self::keys(account, ip)
            .into_iter()
            .filter_map(|(key, is_account)| {
                let (count, since) = self.failures.get(&key)?;
                let limit = if is_account {
                    self.per_account
                } else {
                    self.per_ip
                };
                let elapsed = since.elapsed();
                (count >= limit && elapsed < self.window)
                    .then(|| (self.window - elapsed).as_secs().max(1))
            })
            .max()
    }

    pub fn failed(&self, account: &str, ip: &str) {
        for (key, _) in Self::keys(account, ip) {
            let next = match self.failures.get(&key) {
                Some((count, since)) if since.elapsed() < self.window => (count + 1, since),
                _ => (1, Instant::now()),
            };
            self.failures.insert(key, next);
        }
    }

    pub fn succeeded(&self, account: &str) {
        self.failures.invalidate(&format!("account:{account}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_the_limit_per_account_and_per_ip() {
        let limiter = LoginLimiter::new(&AuthSettings {
            failures_per_account: 2,
            failures_per_ip: 3,
            ..AuthSettings::default()
        });
        limiter.failed("a", "1.1.1.1");
        assert_eq!(limiter.blocked_for("a", "1.1.1.1"), None);
        limiter.failed("a", "1.1.1.1");
        assert!(limiter.blocked_for("a", "1.1.1.1").is_some());
        assert_eq!(limiter.blocked_for("b", "2.2.2.2"), None);
        limiter.failed("b", "1.1.1.1");
        assert!(
            limiter.blocked_for("c", "1.1.1.1").is_some(),
            "the address is over"
        );
        limiter.succeeded("a");
        assert!(limiter.blocked_for("a", "9.9.9.9").is_none());
    }
}
