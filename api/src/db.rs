//! Multi-document transactions with the retry rules MongoDB documents:
//! the whole body again on `TransientTransactionError` (a write conflict
//! with a concurrent transaction), the commit again on
//! `UnknownTransactionCommitResult`.

use futures::future::BoxFuture;
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::{ClientSession, Database};

use crate::http::error::ApiError;

/// Attempts before a contended transaction gives up (then 503 `busy` with
/// Retry-After; in practice a handful of concurrent buyers settle in two
/// or three). A document stays locked this long when the writer of an
/// unfinished transaction died: the server holds its writes until it
/// reaps the transaction (`transactionLifetimeLimitSeconds`, 60 s).
const MAX_ATTEMPTS: u32 = 50;

/// Failure inside a transaction body: the database's (maybe retryable) or
/// the request's (final).
#[derive(Debug)]
pub enum TxError {
    Db(mongodb::error::Error),
    Api(ApiError),
    /// The body saw data change under it; run it again.
    Retry,
}

impl From<mongodb::error::Error> for TxError {
    fn from(err: mongodb::error::Error) -> Self {
        Self::Db(err)
    }
}

impl From<ApiError> for TxError {
    fn from(err: ApiError) -> Self {
        Self::Api(err)
    }
}

/// Runs `body` in a transaction until it commits or fails for good.
///
/// # Errors
/// The body's [`ApiError`], or a database failure that is not transient.
pub async fn transaction<T, F>(db: &Database, mut body: F) -> Result<T, ApiError>
where
    F: for<'s> FnMut(&'s mut ClientSession) -> BoxFuture<'s, Result<T, TxError>>,
{
    let mut session = db.client().start_session().await?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        session.start_transaction().await?;
        match body(&mut session).await {
            Ok(value) => loop {
                match session.commit_transaction().await {
                    Ok(()) => return Ok(value),
                    Err(err) if err.contains_label(UNKNOWN_TRANSACTION_COMMIT_RESULT) => continue,
                    Err(err)
                        if err.contains_label(TRANSIENT_TRANSACTION_ERROR)
                            && attempt < MAX_ATTEMPTS =>
                    {
                        break;
                    }
                    Err(err) if err.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                        return Err(ApiError::Busy(err.into()));
                    }
                    Err(err) => return Err(err.into()),
                }
            },
            Err(TxError::Db(err))
                if err.contains_label(TRANSIENT_TRANSACTION_ERROR) && attempt < MAX_ATTEMPTS =>
            {
                let _ = session.abort_transaction().await;
            }
            Err(TxError::Db(err)) if err.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                let _ = session.abort_transaction().await;
                return Err(ApiError::Busy(err.into()));
            }
            Err(TxError::Db(err)) => {
                let _ = session.abort_transaction().await;
                return Err(err.into());
            }
            Err(TxError::Api(err)) => {
                let _ = session.abort_transaction().await;
                return Err(err);
            }
            Err(TxError::Retry) if attempt < MAX_ATTEMPTS => {
                let _ = session.abort_transaction().await;
            }
            Err(TxError::Retry) => {
                let _ = session.abort_transaction().await;
                return Err(ApiError::Busy(anyhow::anyhow!(
                    "the data kept changing under the transaction"
                )));
            }
        }
        // A short, growing pause lets the winner of a conflict finish.
        tokio::time::sleep(std::time::Duration::from_millis(
            u64::from(attempt.min(10)) * 5,
        ))
        .await;
    }
}

/// A write error inside a transaction: a duplicate key is the request's
/// fault (409 `code`), anything else stays the database's (and may retry).
pub fn duplicate_or_retry(
    err: mongodb::error::Error,
    code: &'static str,
    message: &str,
) -> TxError {
    if crate::http::error::is_duplicate_key(&err) {
        TxError::Api(ApiError::conflict(code, message))
    } else {
        TxError::Db(err)
    }
}
