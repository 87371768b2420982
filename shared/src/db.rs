//! How both services read MongoDB's failures: a unique index refusing a
//! write, and the database being away (answered 503 with `Retry-After`, so
//! clients and the CDN retry, instead of a 500 nobody retries).

use mongodb::error::{Error, ErrorKind, WriteFailure};

/// Server error codes that mean "not now": the node is stepping down,
/// shutting down or not (yet) primary.
const UNAVAILABLE_CODES: &[i32] = &[
    91,    // ShutdownInProgress
    189,   // PrimarySteppedDown
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// MongoDB's E11000: a unique index refused the write.
pub fn is_duplicate_key(err: &Error) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(e)) => e.code == 11000,
        ErrorKind::Command(e) => e.code == 11000,
        ErrorKind::InsertMany(e) => e
            .write_errors
            .as_ref()
            .is_some_and(|errors| errors.iter().any(|e| e.code == 11000)),
        _ => false,
    }
}

/// The database cannot be reached or cannot serve right now; nothing about
/// the request is wrong.
pub fn is_unavailable(err: &Error) -> bool {
    match err.kind.as_ref() {
        ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::ServerSelection { .. } => true,
        ErrorKind::Command(e) => UNAVAILABLE_CODES.contains(&e.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(e)) => UNAVAILABLE_CODES.contains(&e.code),
        _ => err.contains_label("RetryableWriteError"),
    }
}

/// Whether `err` or any error it was caused by is an unavailable database.
pub fn unavailable_in_chain(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(err);
    while let Some(err) = current {
        if err.downcast_ref::<Error>().is_some_and(is_unavailable) {
            return true;
        }
        // `io::Error::source` skips the error it wraps: look inside.
        if let Some(inner) = err
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            if inner.downcast_ref::<Error>().is_some_and(is_unavailable) {
                return true;
            }
        }
        current = err.source();
    }
    false
}

/// Seconds a client is asked to wait when the database is away: readiness
/// came back within a second of the database in the fault tests.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 2;

/// `text` as a regular expression that matches exactly it.
pub fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\^$.|?*+()[]{}".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}
