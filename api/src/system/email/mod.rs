//! `email_logs`: every email the system sends, as an outbox. Writers add a
//! `pending` entry (inside their transaction when they have one); a
//! background dispatcher hands due entries to the configured
//! [`EmailSender`] (SMTP, or log-only when no `SMTP_URL` is set) and records
//! every attempt. A failed attempt is retried with exponential backoff; after
//! `max_attempts`, or at once when the server refuses for good, the entry is
//! `failed`, listed for admins, who can send it again.
//!
//! A message that carries a one-use link (a password reset, an e-mail
//! change) is stored with [`WITHHELD`] where the link's token goes: the
//! token is minted when the message is handed to the sender, only its hash
//! is written (to the record the link spends), and the real text exists
//! only on its way out. So the log an admin reads, and any copy of the
//! database, holds no link that works; a resend mints a new one.

pub mod smtp;
pub mod templates;

use crate::indexes::IndexSpec;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::{ClientSession, Collection, Database};
use serde::{Deserialize, Serialize};

use avenue_shared::retry::after;

use crate::config::EmailSettings;
use crate::db::DbError;
pub use templates::Template;

pub const EMAIL_LOGS: &str = "email_logs";
/// Stands in the stored message for a link's token until it is sent (only
/// characters a URL query and HTML keep as they are, and never the shape
/// of a real token).
pub const WITHHELD: &str = "withheld-until-sent";
/// A `sending` entry older than this was abandoned by a crashed dispatcher.
const LEASE: Duration = Duration::from_secs(120);
/// The longest wait between two attempts, whatever the backoff says.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Attempts remembered per entry (the count goes on).
const HISTORY: i32 = 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub to: String,
    pub template: String,
    pub subject: String,
    /// The text part.
    pub body: String,
    #[serde(default)]
    pub html: Option<String>,
    /// `pending`, `sending`, `sent` or `failed`.
    pub status: String,
    /// Attempts since it was queued (or last resent).
    pub attempts: i32,
    /// What the email is about, e.g. `orders:65f...`.
    pub related: String,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    /// When a `pending` entry is due. Entries without it (the old back
    /// end's) are never picked up by the dispatcher.
    #[serde(default)]
    pub next_attempt_at: Option<DateTime>,
    #[serde(default)]
    pub sent_at: Option<DateTime>,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// The latest attempts, oldest first.
    #[serde(default)]
    pub history: Vec<AttemptRecord>,
    /// The record whose link token this message carries, minted at send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkRecord>,
}

/// Where a message's one-use link lives: a document with a `token_hash`,
/// an `expires_at`, and (once spent) a `used_at` or no document at all.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LinkRecord {
    pub collection: String,
    pub id: ObjectId,
}

/// One try at sending, or an admin's resend.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub at: DateTime,
    /// `sent`, `error`, `failed` (given up) or `resend`.
    pub outcome: String,
    #[serde(default)]
    pub detail: Option<String>,
}

/// An email to queue: rendered from its template when made.
pub struct NewEmail {
    pub to: String,
    pub template: Template,
    pub subject: String,
    /// What the email is about, e.g. `orders:65f...`.
    pub related: String,
    content: Result<templates::Rendered, String>,
    link: Option<LinkRecord>,
}

impl NewEmail {
    /// Renders `template` with `values`. A template that fails to render
    /// does not fail the write that queues it: the entry is stored
    /// `failed` with the reason, where admins see it.
    pub fn new(
        template: Template,
        to: impl Into<String>,
        subject: impl Into<String>,
        related: impl Into<String>,
        values: &impl Serialize,
    ) -> Self {
        Self {
            to: to.into(),
            template,
            subject: subject.into(),
            related: related.into(),
            content: templates::render(template, values),
            link: None,
        }
    }

    /// The message's link (rendered with [`WITHHELD`] for its token) spends
    /// the token of `collection`'s document `id`: minted when sent.
    pub fn with_link(mut self, collection: &str, id: ObjectId) -> Self {
        self.link = Some(LinkRecord {
            collection: collection.to_owned(),
            id,
        });
        self
    }
}

/// Why a send did not happen.
#[derive(Debug)]
pub enum SendFailure {
    /// Worth trying again later (connection refused, 4xx).
    Transient(String),
    /// Retrying cannot help (5xx, an address that does not parse).
    Permanent(String),
}

/// Where emails go.
#[async_trait]
pub trait EmailSender: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// # Errors
    /// A reason to record; transient ones are retried with backoff.
    async fn send(&self, email: &EmailDoc) -> Result<(), SendFailure>;
}

/// Used when no `SMTP_URL` is set: records that the email would be sent.
pub struct LogOnlySender;

#[async_trait]
impl EmailSender for LogOnlySender {
    fn name(&self) -> &'static str {
        "log-only"
    }

    async fn send(&self, email: &EmailDoc) -> Result<(), SendFailure> {
        tracing::info!(to = %email.to, subject = %email.subject, template = %email.template, "email (log only)");
        Ok(())
    }
}

/// How often and how patiently sends are retried.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    /// The wait after the first failure; it doubles after each one.
    pub first_backoff: Duration,
}

impl RetryPolicy {
    /// The wait after `attempts` failed attempts.
    pub fn backoff(&self, attempts: u32) -> Duration {
        avenue_shared::retry::doubling(self.first_backoff, attempts, MAX_BACKOFF)
    }
}

/// What [`Outbox::resend`] found.
pub enum Resend {
    Queued(Box<EmailDoc>),
    /// Still `pending` or `sending`: it goes out without help.
    InFlight(String),
}

#[derive(Clone)]
pub struct Outbox {
    db: Database,
    emails: Collection<EmailDoc>,
    raw: Collection<Document>,
    sender: Arc<dyn EmailSender>,
    retry: RetryPolicy,
}

fn history_entry(outcome: &str, detail: Option<&str>) -> Document {
    doc! { "$each": [{ "at": DateTime::now(), "outcome": outcome, "detail": detail }], "$slice": -HISTORY }
}

impl Outbox {
    pub fn new(db: &Database, sender: Arc<dyn EmailSender>, settings: &EmailSettings) -> Self {
        Self {
            db: db.clone(),
            emails: db.collection(EMAIL_LOGS),
            raw: db.collection(EMAIL_LOGS),
            sender,
            retry: RetryPolicy {
                max_attempts: settings.max_attempts,
                first_backoff: settings.first_backoff,
            },
        }
    }

    pub fn sender_name(&self) -> &'static str {
        self.sender.name()
    }

    /// Newest emails matching `filter` first; entries that do not read
    /// (the old back end's) are skipped and counted.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn recent(
        &self,
        filter: Document,
        limit: i64,
    ) -> Result<Vec<EmailDoc>, mongodb::error::Error> {
        crate::db::newest_first(&self.emails, filter, "created_at", limit).await
    }

    pub fn indexes() -> Vec<IndexSpec> {
        vec![
            IndexSpec::plain(EMAIL_LOGS, doc! { "status": 1, "next_attempt_at": 1 }),
            IndexSpec::plain(EMAIL_LOGS, doc! { "status": 1, "updated_at": 1 }),
            IndexSpec::plain(EMAIL_LOGS, doc! { "related": 1 }),
        ]
    }

    fn entry(email: NewEmail) -> EmailDoc {
        let now = DateTime::now();
        let (body, html, status, last_error, history) = match email.content {
            Ok(rendered) => (rendered.text, Some(rendered.html), "pending", None, vec![]),
            Err(reason) => {
                tracing::error!(template = email.template.name(), %reason, "email not rendered");
                let record = AttemptRecord {
                    at: now,
                    outcome: "failed".into(),
                    detail: Some(reason.clone()),
                };
                (String::new(), None, "failed", Some(reason), vec![record])
            }
        };
        EmailDoc {
            id: ObjectId::new(),
            to: email.to,
            template: email.template.name().to_owned(),
            subject: email.subject,
            body,
            html,
            status: status.into(),
            attempts: 0,
            related: email.related,
            created_at: now,
            updated_at: now,
            next_attempt_at: Some(now),
            sent_at: None,
            sender: None,
            last_error,
            history,
            link: email.link,
        }
    }

    /// Queues `email` inside `session`'s transaction: it exists only if
    /// the write it reports commits.
    ///
    /// # Errors
    /// When the database refuses.
    pub async fn enqueue_in(
        &self,
        session: &mut ClientSession,
        email: NewEmail,
    ) -> Result<(), mongodb::error::Error> {
        self.emails
            .insert_one(Self::entry(email))
            .session(session)
            .await?;
        Ok(())
    }

    /// Queues `email` on its own.
    ///
    /// # Errors
    /// When the database refuses.
    pub async fn enqueue(&self, email: NewEmail) -> Result<(), mongodb::error::Error> {
        self.emails.insert_one(Self::entry(email)).await?;
        Ok(())
    }

    /// Queues a `failed` or `sent` email again, as it was written. The
    /// attempt count starts afresh; the history keeps what happened.
    ///
    /// # Errors
    /// [`DbError::NoSuch`] when there is no such email,
    /// [`DbError::Legacy`] when it is the old back end's and does not read.
    pub async fn resend(&self, id: ObjectId) -> Result<Resend, DbError> {
        let stored = self
            .raw
            .find_one(doc! { "_id": id })
            .await?
            .ok_or(DbError::NoSuch(crate::fields::NoSuch("email")))?;
        let email: EmailDoc = mongodb::bson::from_document(stored.clone()).map_err(|err| {
            crate::adopt::LegacyDocument {
                collection: EMAIL_LOGS,
                id: id.to_hex(),
                problem: err.to_string(),
            }
        })?;
        if email.body.is_empty() && email.html.is_none() {
            return Ok(Resend::InFlight(
                "this email was never rendered; nothing to send again".into(),
            ));
        }
        let queued = self
            .emails
            .find_one_and_update(
                doc! { "_id": id, "status": { "$in": ["failed", "sent"] } },
                doc! {
                    "$set": {
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": DateTime::now(),
                        "updated_at": DateTime::now(),
                    },
                    "$push": { "history": history_entry("resend", None) },
                },
            )
            .return_document(mongodb::options::ReturnDocument::After)
            .await?;
        Ok(match queued {
            Some(email) => Resend::Queued(Box::new(email)),
            None => Resend::InFlight(format!("the email is {}", email.status)),
        })
    }

    /// Sends what is due (and what a crashed dispatcher left `sending`).
    /// Several instances may run this at once: each entry is leased first.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn dispatch_pending(&self) -> Result<u64, mongodb::error::Error> {
        let mut handled = 0;
        loop {
            let now = DateTime::now();
            let stale = DateTime::from_millis(
                now.timestamp_millis() - i64::try_from(LEASE.as_millis()).unwrap_or(0),
            );
            let leased = self
                .emails
                .find_one_and_update(
                    doc! { "$or": [
                        { "status": "pending", "next_attempt_at": { "$lte": now } },
                        { "status": "sending", "updated_at": { "$lt": stale },
                          "next_attempt_at": { "$type": "date" } },
                    ] },
                    doc! { "$set": { "status": "sending", "updated_at": now },
                    "$inc": { "attempts": 1 } },
                )
                .sort(doc! { "next_attempt_at": 1 })
                .return_document(mongodb::options::ReturnDocument::After)
                .await?;
            let Some(email) = leased else {
                return Ok(handled);
            };
            handled += 1;
            let result = match self.with_live_link(&email).await {
                Ok(Some(ready)) => self.sender.send(&ready).await,
                Ok(None) => Err(SendFailure::Permanent(
                    "its link was used or expired before it could be sent".into(),
                )),
                Err(err) => Err(SendFailure::Transient(format!(
                    "the link could not be minted: {err}"
                ))),
            };
            let update = self.outcome(&email, result);
            self.emails
                .update_one(doc! { "_id": email.id, "status": "sending" }, update)
                .await?;
        }
    }

    /// The message as it goes out: a link's token minted now, its hash
    /// stored on the record it spends (replacing the hash of any token an
    /// earlier attempt minted), and put in place of [`WITHHELD`]. `None`
    /// when that record is spent or expired, so no link would work.
    async fn with_live_link(
        &self,
        email: &EmailDoc,
    ) -> Result<Option<EmailDoc>, mongodb::error::Error> {
        let Some(link) = &email.link else {
            return Ok(Some(email.clone()));
        };
        let token = crate::users::link_token::mint();
        let renewed = self
            .db
            .collection::<Document>(&link.collection)
            .update_one(
                doc! {
                    "_id": link.id,
                    "used_at": null,
                    "expires_at": { "$gt": DateTime::now() },
                },
                doc! { "$set": { "token_hash": crate::users::link_token::hash(&token) } },
            )
            .await?;
        if renewed.matched_count == 0 {
            return Ok(None);
        }
        let mut ready = email.clone();
        ready.body = ready.body.replace(WITHHELD, &token);
        ready.html = ready.html.map(|html| html.replace(WITHHELD, &token));
        Ok(Some(ready))
    }

    /// The update that records one attempt's result.
    fn outcome(&self, email: &EmailDoc, result: Result<(), SendFailure>) -> Document {
        let now = DateTime::now();
        let sender = self.sender.name();
        let attempts = u32::try_from(email.attempts).unwrap_or(0);
        let (reason, give_up) = match result {
            Ok(()) => {
                tracing::info!(to = %email.to, template = %email.template, sender, "email sent");
                return doc! {
                    "$set": { "status": "sent", "sent_at": now, "updated_at": now, "sender": sender },
                    "$push": { "history": history_entry("sent", None) },
                };
            }
            Err(SendFailure::Permanent(reason)) => (reason, true),
            Err(SendFailure::Transient(reason)) => {
                let give_up = attempts >= self.retry.max_attempts;
                (reason, give_up)
            }
        };
        if give_up {
            tracing::error!(to = %email.to, template = %email.template, attempts, %reason,
                "email failed; listed for admins under status=failed");
            doc! {
                "$set": { "status": "failed", "updated_at": now, "last_error": &reason, "sender": sender },
                "$push": { "history": history_entry("failed", Some(&reason)) },
            }
        } else {
            let wait = self.retry.backoff(attempts);
            tracing::warn!(to = %email.to, attempts, %reason, retry_in_ms = wait.as_millis() as u64,
                "email not sent; will retry");
            doc! {
                "$set": {
                    "status": "pending",
                    "updated_at": now,
                    "next_attempt_at": after(wait),
                    "last_error": &reason,
                    "sender": sender,
                },
                "$push": { "history": history_entry("error", Some(&reason)) },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let policy = RetryPolicy {
            max_attempts: 5,
            first_backoff: Duration::from_secs(30),
        };
        assert_eq!(policy.backoff(1), Duration::from_secs(30));
        assert_eq!(policy.backoff(2), Duration::from_secs(60));
        assert_eq!(policy.backoff(4), Duration::from_secs(240));
        assert_eq!(policy.backoff(40), MAX_BACKOFF);
    }
}
