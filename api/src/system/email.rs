//! `email_logs`: every email the system would send, as an outbox. Writers
//! add a `pending` entry (inside their transaction when they have one); a
//! background dispatcher hands pending entries to the configured
//! [`EmailSender`] and records the outcome. The default sender only logs,
//! so the record of what would have been sent is the product.

use crate::indexes::IndexSpec;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::{ClientSession, Collection, Database};
use serde::{Deserialize, Serialize};

pub const EMAIL_LOGS: &str = "email_logs";
/// Sends tried before an entry is marked `failed`.
const MAX_ATTEMPTS: i32 = 5;
/// A `sending` entry older than this was abandoned by a crashed dispatcher.
const LEASE: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EmailDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub to: String,
    pub template: String,
    pub subject: String,
    pub body: String,
    /// `pending`, `sending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i32,
    /// What the email is about, e.g. `orders:65f...`.
    pub related: String,
    pub created_at: DateTime,
    pub updated_at: DateTime,
    #[serde(default)]
    pub sent_at: Option<DateTime>,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// An email to queue.
pub struct NewEmail {
    pub to: String,
    pub template: &'static str,
    pub subject: String,
    pub body: String,
    pub related: String,
}

/// Where emails go. Implement it for an SMTP relay or a provider's API.
#[async_trait]
pub trait EmailSender: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    /// # Errors
    /// A reason to record; the entry is retried later.
    async fn send(&self, email: &EmailDoc) -> Result<(), String>;
}

/// The default: records that the email would be sent, sends nothing.
pub struct LogOnlySender;

#[async_trait]
impl EmailSender for LogOnlySender {
    fn name(&self) -> &'static str {
        "log-only"
    }

    async fn send(&self, email: &EmailDoc) -> Result<(), String> {
        tracing::info!(to = %email.to, subject = %email.subject, template = %email.template, "email (log only)");
        Ok(())
    }
}

#[derive(Clone)]
pub struct Outbox {
    emails: Collection<EmailDoc>,
    sender: Arc<dyn EmailSender>,
}

impl Outbox {
    /// Newest emails matching `filter` first.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn recent(
        &self,
        filter: mongodb::bson::Document,
        limit: i64,
    ) -> Result<Vec<EmailDoc>, mongodb::error::Error> {
        crate::db::newest_first(&self.emails, filter, "created_at", limit).await
    }

    pub fn new(db: &Database, sender: Arc<dyn EmailSender>) -> Self {
        Self {
            emails: db.collection(EMAIL_LOGS),
            sender,
        }
    }

    pub fn indexes() -> Vec<IndexSpec> {
        vec![
            IndexSpec::plain(EMAIL_LOGS, doc! { "status": 1, "updated_at": 1 }),
            IndexSpec::plain(EMAIL_LOGS, doc! { "related": 1 }),
        ]
    }

    fn entry(email: NewEmail) -> EmailDoc {
        let now = DateTime::now();
        EmailDoc {
            id: ObjectId::new(),
            to: email.to,
            template: email.template.to_owned(),
            subject: email.subject,
            body: email.body,
            status: "pending".into(),
            attempts: 0,
            related: email.related,
            created_at: now,
            updated_at: now,
            sent_at: None,
            sender: None,
            last_error: None,
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

    /// Sends what is pending (and what a crashed dispatcher left `sending`).
    /// Several instances may run this at once: each entry is leased first.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn dispatch_pending(&self) -> Result<u64, mongodb::error::Error> {
        let mut handled = 0;
        loop {
            let stale = DateTime::from_millis(
                DateTime::now().timestamp_millis() - LEASE.as_millis() as i64,
            );
            let leased = self
                .emails
                .find_one_and_update(
                    doc! { "$or": [
                        { "status": "pending" },
                        { "status": "sending", "updated_at": { "$lt": stale } },
                    ] },
                    doc! { "$set": { "status": "sending", "updated_at": DateTime::now() },
                    "$inc": { "attempts": 1 } },
                )
                .sort(doc! { "created_at": 1 })
                .return_document(mongodb::options::ReturnDocument::After)
                .await?;
            let Some(email) = leased else {
                return Ok(handled);
            };
            handled += 1;
            let update = match self.sender.send(&email).await {
                Ok(()) => doc! { "$set": {
                    "status": "sent",
                    "sent_at": DateTime::now(),
                    "updated_at": DateTime::now(),
                    "sender": self.sender.name(),
                } },
                Err(reason) => {
                    let status = if email.attempts >= MAX_ATTEMPTS {
                        "failed"
                    } else {
                        "pending"
                    };
                    doc! { "$set": {
                        "status": status,
                        "updated_at": DateTime::now(),
                        "last_error": reason,
                        "sender": self.sender.name(),
                    } }
                }
            };
            self.emails
                .update_one(doc! { "_id": email.id }, update)
                .await?;
        }
    }
}
