//! Retrying later, the way both services' queues do (the api's email
//! outbox, media's CDN purges): a wait that doubles after each failure, up
//! to a cap, and the instant it ends as a BSON date to store.

use std::time::Duration;

use mongodb::bson::DateTime;

/// The wait after `failures` failed attempts: `first`, doubled after each
/// further failure, at most `max`.
pub fn doubling(first: Duration, failures: u32, max: Duration) -> Duration {
    first
        .saturating_mul(1 << failures.saturating_sub(1).min(20))
        .min(max)
}

/// Now plus `delay`.
pub fn after(delay: Duration) -> DateTime {
    let millis = i64::try_from(delay.as_millis()).unwrap_or(i64::MAX / 2);
    DateTime::from_millis(DateTime::now().timestamp_millis().saturating_add(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_and_are_capped() {
        let (first, max) = (Duration::from_secs(30), Duration::from_secs(3600));
        assert_eq!(doubling(first, 1, max), Duration::from_secs(30));
        assert_eq!(doubling(first, 2, max), Duration::from_secs(60));
        assert_eq!(doubling(first, 4, max), Duration::from_secs(240));
        assert_eq!(doubling(first, 40, max), max);
    }
}
