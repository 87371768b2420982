//! Sending over SMTP with lettre: `SMTP_URL` names the server
//! (`smtp://user:pass@host:587?tls=starttls`, `smtps://host:465`, or plain
//! `smtp://127.0.0.1:2525` for a relay on loopback).

use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{EmailDoc, EmailSender, SendFailure};

/// A server that has not answered in this long is tried again later.
const TIMEOUT: Duration = Duration::from_secs(20);

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpSender {
    /// # Errors
    /// When `url` is not an SMTP URL lettre understands.
    pub fn new(url: &str, from: Mailbox) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .context("SMTP_URL is not a usable SMTP URL")?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(Self { transport, from })
    }

    fn message(&self, email: &EmailDoc) -> Result<Message, SendFailure> {
        let to: Mailbox = email.to.parse().map_err(|err| {
            SendFailure::Permanent(format!("'{}' is not an email address: {err}", email.to))
        })?;
        let domain = self.from.email.domain().to_owned();
        let builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            // The same id on every attempt and resend, so a receiver that
            // got an earlier try can tell it is the same message.
            .message_id(Some(format!("<{}@{domain}>", email.id.to_hex())));
        let text = SinglePart::builder()
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone());
        let built = match &email.html {
            Some(html) => builder.multipart(
                MultiPart::alternative().singlepart(text).singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.clone()),
                ),
            ),
            None => builder.singlepart(text),
        };
        built.map_err(|err| SendFailure::Permanent(format!("the message does not build: {err}")))
    }
}

#[async_trait]
impl EmailSender for SmtpSender {
    fn name(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, email: &EmailDoc) -> Result<(), SendFailure> {
        let message = self.message(email)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(err) if err.is_permanent() => Err(SendFailure::Permanent(err.to_string())),
            Err(err) => Err(SendFailure::Transient(err.to_string())),
        }
    }
}

/// lettre reads `?tls=required` for STARTTLS; operators write
/// `?tls=starttls` too, and mean the same.
pub fn normalize_url(raw: &str) -> anyhow::Result<String> {
    let mut url = url::Url::parse(raw).context("SMTP_URL must be a URL such as smtp://host:587")?;
    if !matches!(url.scheme(), "smtp" | "smtps") {
        anyhow::bail!("SMTP_URL must start with smtp:// or smtps://");
    }
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "tls" && v.eq_ignore_ascii_case("starttls") {
                "required".to_owned()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    if !pairs.is_empty() {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttls_is_what_lettre_calls_required() {
        assert_eq!(
            normalize_url("smtp://u:p@mail.test:587?tls=starttls").expect("url"),
            "smtp://u:p@mail.test:587?tls=required"
        );
        assert_eq!(
            normalize_url("smtps://mail.test").expect("url"),
            "smtps://mail.test"
        );
        assert!(normalize_url("http://mail.test").is_err());
        assert!(SmtpSender::new(
            &normalize_url("smtp://u:p@mail.test:587?tls=starttls").expect("url"),
            "Avenue <no-reply@avenue.test>".parse().expect("mailbox"),
        )
        .is_ok());
    }
}
