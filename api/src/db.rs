//! Multi-document transactions with the retry rules MongoDB documents:
//! the whole body again on `TransientTransactionError` (a write conflict
//! with a concurrent transaction), the commit again on
//! `UnknownTransactionCommitResult`.

use futures::future::BoxFuture;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use mongodb::error::{TRANSIENT_TRANSACTION_ERROR, UNKNOWN_TRANSACTION_COMMIT_RESULT};
use mongodb::{ClientSession, Collection, Database};

/// A database failure as the domains see it; the HTTP layer maps each to a
/// status in one place.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// A unique index refused the write: the request's fault (`code` names
    /// what is taken).
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// A transaction kept meeting concurrent writers (or the locks of a
    /// crashed one): nothing was changed, retry shortly.
    #[error("too many concurrent changes")]
    Busy(#[source] anyhow::Error),
    #[error("database failed")]
    Mongo(#[from] mongodb::error::Error),
    /// One of our own values did not encode: a bug, never the request's.
    #[error("encoding a document failed")]
    Encode(#[from] mongodb::bson::ser::Error),
    /// A stored document neither ours nor convertible from the old back
    /// end's shape: 422 `legacy-document` naming the problem.
    #[error(transparent)]
    Legacy(#[from] crate::adopt::LegacyDocument),
    /// A path named a record that does not exist: 404.
    #[error(transparent)]
    NoSuch(#[from] crate::fields::NoSuch),
}

pub use avenue_shared::db::is_duplicate_key;

/// Turns MongoDB's E11000 into [`DbError::Conflict`] at the call site.
pub trait OnDuplicate<T> {
    /// # Errors
    /// [`DbError::Conflict`] for a duplicate key, [`DbError::Mongo`] for
    /// any other database failure.
    fn on_duplicate(self, code: &'static str, message: &str) -> Result<T, DbError>;
}

impl<T> OnDuplicate<T> for Result<T, mongodb::error::Error> {
    fn on_duplicate(self, code: &'static str, message: &str) -> Result<T, DbError> {
        self.map_err(|err| {
            if is_duplicate_key(&err) {
                DbError::Conflict {
                    code,
                    message: message.to_owned(),
                }
            } else {
                DbError::Mongo(err)
            }
        })
    }
}

/// Attempts before a contended transaction gives up (then 503 `busy` with
/// Retry-After; in practice a handful of concurrent buyers settle in two
/// or three). A document stays locked this long when the writer of an
/// unfinished transaction died: the server holds its writes until it
/// reaps the transaction (`transactionLifetimeLimitSeconds`, 60 s).
const MAX_ATTEMPTS: u32 = 50;

/// Failure inside a transaction body: the database's (maybe retryable) or
/// the request's own refusal `E` (final).
#[derive(Debug)]
pub enum TxError<E> {
    Db(mongodb::error::Error),
    Abort(E),
    /// The body saw data change under it; run it again.
    Retry,
}

impl<E> From<mongodb::error::Error> for TxError<E> {
    fn from(err: mongodb::error::Error) -> Self {
        Self::Db(err)
    }
}

/// Runs `body` in a transaction until it commits or fails for good.
///
/// # Errors
/// The body's refusal, [`DbError::Busy`] when contention outlasts the
/// attempts, or a database failure that is not transient.
pub async fn transaction<T, E, F>(db: &Database, mut body: F) -> Result<T, E>
where
    E: From<DbError>,
    F: for<'s> FnMut(&'s mut ClientSession) -> BoxFuture<'s, Result<T, TxError<E>>>,
{
    let mongo = |err: mongodb::error::Error| E::from(DbError::Mongo(err));
    let busy = |err: anyhow::Error| E::from(DbError::Busy(err));
    let mut session = db.client().start_session().await.map_err(mongo)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        session.start_transaction().await.map_err(mongo)?;
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
                        return Err(busy(err.into()));
                    }
                    Err(err) => return Err(mongo(err)),
                }
            },
            Err(TxError::Db(err))
                if err.contains_label(TRANSIENT_TRANSACTION_ERROR) && attempt < MAX_ATTEMPTS =>
            {
                let _ = session.abort_transaction().await;
            }
            Err(TxError::Db(err)) if err.contains_label(TRANSIENT_TRANSACTION_ERROR) => {
                let _ = session.abort_transaction().await;
                return Err(busy(err.into()));
            }
            Err(TxError::Db(err)) => {
                let _ = session.abort_transaction().await;
                return Err(mongo(err));
            }
            Err(TxError::Abort(err)) => {
                let _ = session.abort_transaction().await;
                return Err(err);
            }
            Err(TxError::Retry) if attempt < MAX_ATTEMPTS => {
                let _ = session.abort_transaction().await;
            }
            Err(TxError::Retry) => {
                let _ = session.abort_transaction().await;
                return Err(busy(anyhow::anyhow!(
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
pub fn duplicate_or_retry<E: From<DbError>>(
    err: mongodb::error::Error,
    code: &'static str,
    message: &str,
) -> TxError<E> {
    if is_duplicate_key(&err) {
        TxError::Abort(E::from(DbError::Conflict {
            code,
            message: message.to_owned(),
        }))
    } else {
        TxError::Db(err)
    }
}

/// A page of a listing from a query's `page` (from 1) and `limit` (1 to
/// 100, default 20).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub skip: u64,
    pub limit: i64,
}

impl Page {
    pub fn of(page: Option<u32>, limit: Option<u32>) -> Self {
        let limit = limit.unwrap_or(20).clamp(1, 100);
        let page = page.unwrap_or(1).max(1);
        Self {
            skip: u64::from(page - 1) * u64::from(limit),
            limit: i64::from(limit),
        }
    }
}

/// One page of the documents matching `filter`, in `sort` order (which
/// should end with `_id`, so pages never shuffle). A document that does
/// not read is skipped (see [`readable`]), never the whole page lost.
///
/// # Errors
/// When the database fails.
pub async fn find_page<T>(
    collection: &Collection<T>,
    filter: Document,
    sort: Document,
    page: Page,
) -> Result<Vec<T>, mongodb::error::Error>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    let stored: Vec<Document> = collection
        .clone_with_type::<Document>()
        .find(filter)
        .sort(sort)
        .skip(page.skip)
        .limit(page.limit)
        .await?
        .try_collect()
        .await?;
    let name = collection.name().to_owned();
    Ok(readable(&name, stored, |doc| {
        mongodb::bson::from_document(doc).map_err(|err| err.to_string())
    }))
}

/// The documents of a listing that `read` accepts. One odd document (the
/// old back end's, or a hand edit) never turns a list into a 500: it is
/// skipped, logged once with its id, and counted in [`skipped_reads`].
pub fn readable<T, E: std::fmt::Display>(
    collection: &str,
    stored: Vec<Document>,
    read: impl Fn(Document) -> Result<T, E>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(stored.len());
    for doc in stored {
        let id = crate::adopt::id_text(&doc);
        match read(doc) {
            Ok(value) => out.push(value),
            Err(err) => skipped(collection, &id, &err.to_string()),
        }
    }
    out
}

/// Ids already logged, so a document read on every request is logged
/// once; bounded, since the log is what it saves, not correctness.
static LOGGED: std::sync::Mutex<Option<std::collections::HashSet<String>>> =
    std::sync::Mutex::new(None);
static SKIPPED: std::sync::Mutex<std::collections::BTreeMap<String, u64>> =
    std::sync::Mutex::new(std::collections::BTreeMap::new());

fn skipped(collection: &str, id: &str, problem: &str) {
    if let Ok(mut counts) = SKIPPED.lock() {
        *counts.entry(collection.to_owned()).or_default() += 1;
    }
    let first_time = LOGGED.lock().map_or(true, |mut logged| {
        let logged = logged.get_or_insert_with(Default::default);
        logged.len() < 10_000 && logged.insert(format!("{collection}/{id}"))
    });
    if first_time {
        tracing::warn!(%collection, %id, %problem,
            "document skipped in a listing: not in a shape this service reads (adopt-data reports it)");
    }
}

/// Per collection, how many documents listings skipped since start-up.
pub fn skipped_reads() -> std::collections::BTreeMap<String, u64> {
    SKIPPED.lock().map(|c| c.clone()).unwrap_or_default()
}

/// The record a path names: our ObjectId, or the old back end's string id
/// (kept as `legacy_id` by `adopt-data`, or still in `id` before it ran),
/// so links from before the cut-over keep working.
///
/// # Errors
/// [`DbError::NoSuch`] for `what` when neither names a record.
pub async fn resolve_id(
    db: &Database,
    collection: &str,
    raw: &str,
    what: &'static str,
) -> Result<ObjectId, DbError> {
    if let Ok(id) = ObjectId::parse_str(raw) {
        return Ok(id);
    }
    let no_such = || DbError::NoSuch(crate::fields::NoSuch(what));
    if raw.is_empty() || raw.len() > 100 {
        return Err(no_such());
    }
    let found = db
        .collection::<Document>(collection)
        .find_one(doc! { "$or": [ { "legacy_id": raw }, { "id": raw } ] })
        .projection(doc! { "_id": 1 })
        .await?;
    match found.as_ref().and_then(|d| d.get("_id")) {
        Some(Bson::ObjectId(id)) => Ok(*id),
        _ => Err(no_such()),
    }
}

pub use avenue_shared::db::regex_escape;

/// Up to `limit` documents matching `filter`, newest by `at_field` first
/// (ties by `_id`, so pages never shuffle).
///
/// # Errors
/// When the database fails or a document does not deserialize.
pub async fn newest_first<T>(
    collection: &Collection<T>,
    filter: Document,
    at_field: &str,
    limit: i64,
) -> Result<Vec<T>, mongodb::error::Error>
where
    T: serde::de::DeserializeOwned + Send + Sync,
{
    let mut sort = Document::new();
    sort.insert(at_field, -1);
    sort.insert("_id", -1);
    find_page(collection, filter, sort, Page { skip: 0, limit }).await
}

#[cfg(test)]
mod tests {
    use super::Page;

    #[test]
    fn pages_are_bounded() {
        assert_eq!(
            Page::of(Some(3), Some(10)),
            Page {
                skip: 20,
                limit: 10
            }
        );
        assert_eq!(
            Page::of(Some(0), Some(1000)),
            Page {
                skip: 0,
                limit: 100
            }
        );
        assert_eq!(Page::of(None, None), Page { skip: 0, limit: 20 });
    }
}
