//! Where purges go, each spoken the way its API documents:
//! - `webhook:URL`: `POST` of `{"ids", "tags", "urls"}` as JSON, with
//!   `X-Avenue-Timestamp` and `X-Avenue-Signature: sha256=HEX`, the
//!   HMAC-SHA256 of `{timestamp}.{body}` under `MEDIA_PURGE_SECRET`;
//! - `cloudflare:ZONE_ID`: `POST /client/v4/zones/{zone}/purge_cache` with
//!   `{"tags": [...]}` and `Authorization: Bearer CLOUDFLARE_API_TOKEN`;
//! - `fastly:SERVICE_ID`: `POST /service/{id}/purge` with the keys,
//!   space-separated, in `Surrogate-Key` and the token in `Fastly-Key`.

use std::time::Duration;

use anyhow::{bail, Context};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

use avenue_shared::net::outbound_url;

use super::PurgeBatch;
use crate::config::Secret;

#[derive(Debug, Clone)]
pub enum PurgeTarget {
    Webhook {
        url: Url,
        secret: Secret,
    },
    Cloudflare {
        zone: String,
        token: Secret,
        api_base: Url,
    },
    Fastly {
        service: String,
        token: Secret,
        api_base: Url,
    },
}

impl PurgeTarget {
    /// Reads `MEDIA_PURGE` and the secrets its kind needs.
    ///
    /// # Errors
    /// An unknown kind, or a missing secret.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<Self>> {
        let Some(raw) = get("MEDIA_PURGE").filter(|v| !v.trim().is_empty()) else {
            return Ok(None);
        };
        let secret = |key: &str| -> anyhow::Result<Secret> {
            get(key)
                .filter(|v| !v.is_empty())
                .map(Secret::new)
                .with_context(|| format!("{key} is required with MEDIA_PURGE={raw}"))
        };
        let base = |key: &str, default: &str| -> anyhow::Result<Url> {
            outbound_url(key, &get(key).unwrap_or_else(|| default.to_owned()))
                .map_err(anyhow::Error::msg)
        };
        let id = |value: &str| -> anyhow::Result<String> {
            if value.is_empty()
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                bail!("MEDIA_PURGE: '{value}' is not a zone or service id");
            }
            Ok(value.to_owned())
        };
        Ok(Some(match raw.trim().split_once(':') {
            Some(("webhook", url)) => Self::Webhook {
                url: outbound_url("MEDIA_PURGE", url).map_err(anyhow::Error::msg)?,
                secret: secret("MEDIA_PURGE_SECRET")?,
            },
            Some(("cloudflare", zone)) => Self::Cloudflare {
                zone: id(zone)?,
                token: secret("CLOUDFLARE_API_TOKEN")?,
                api_base: base("CLOUDFLARE_API_BASE", "https://api.cloudflare.com")?,
            },
            Some(("fastly", service)) => Self::Fastly {
                service: id(service)?,
                token: secret("FASTLY_API_TOKEN")?,
                api_base: base("FASTLY_API_BASE", "https://api.fastly.com")?,
            },
            _ => bail!(
                "MEDIA_PURGE must be webhook:URL, cloudflare:ZONE_ID or fastly:SERVICE_ID, got {raw:?}"
            ),
        }))
    }
}

/// Sends batches to a target.
#[derive(Clone)]
pub struct Purger {
    http: reqwest::Client,
    target: PurgeTarget,
}

/// The signature a webhook receiver recomputes.
pub fn webhook_signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl Purger {
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(target: PurgeTarget) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            // The token and the signed body go to the configured URL only:
            // a redirect is an answer (a failed purge), never a new target.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("the purge HTTP client")?;
        Ok(Self { http, target })
    }

    pub fn name(&self) -> &'static str {
        match self.target {
            PurgeTarget::Webhook { .. } => "webhook",
            PurgeTarget::Cloudflare { .. } => "cloudflare",
            PurgeTarget::Fastly { .. } => "fastly",
        }
    }

    /// # Errors
    /// Why the target did not take the batch.
    pub async fn send(&self, batch: &PurgeBatch) -> Result<(), String> {
        let request = match &self.target {
            PurgeTarget::Webhook { url, secret } => {
                let body = serde_json::to_vec(batch).map_err(|e| e.to_string())?;
                let timestamp = time::OffsetDateTime::now_utc().unix_timestamp().to_string();
                let signature = webhook_signature(secret.expose(), &timestamp, &body);
                self.http
                    .post(url.clone())
                    .header("content-type", "application/json")
                    .header("x-avenue-timestamp", timestamp)
                    .header("x-avenue-signature", signature)
                    .body(body)
            }
            PurgeTarget::Cloudflare {
                zone,
                token,
                api_base,
            } => {
                let url = api_base
                    .join(&format!("client/v4/zones/{zone}/purge_cache"))
                    .map_err(|e| e.to_string())?;
                self.http
                    .post(url)
                    .bearer_auth(token.expose())
                    .json(&serde_json::json!({ "tags": batch.tags }))
            }
            PurgeTarget::Fastly {
                service,
                token,
                api_base,
            } => {
                let url = api_base
                    .join(&format!("service/{service}/purge"))
                    .map_err(|e| e.to_string())?;
                self.http
                    .post(url)
                    .header("fastly-key", token.expose())
                    .header("surrogate-key", batch.tags.join(" "))
                    .header("accept", "application/json")
            }
        };
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(format!(
                "{} answered {status}: {}",
                self.name(),
                text.chars().take(300).collect::<String>()
            ));
        }
        if matches!(self.target, PurgeTarget::Cloudflare { .. }) {
            // Cloudflare says whether it worked in the body.
            let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            if body["success"] != true {
                return Err(format!("cloudflare did not purge: {text}"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_their_secrets() {
        let get = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(PurgeTarget::from_lookup(&get(&[])).expect("none").is_none());
        let missing = PurgeTarget::from_lookup(&get(&[("MEDIA_PURGE", "cloudflare:abc")]))
            .expect_err("needs a token");
        assert!(missing.to_string().contains("CLOUDFLARE_API_TOKEN"));
        assert!(PurgeTarget::from_lookup(&get(&[("MEDIA_PURGE", "akamai:x")])).is_err());
        assert!(PurgeTarget::from_lookup(&get(&[
            ("MEDIA_PURGE", "fastly:svc/../x"),
            ("FASTLY_API_TOKEN", "t")
        ]))
        .is_err());
        let ok = PurgeTarget::from_lookup(&get(&[
            ("MEDIA_PURGE", "webhook:https://hooks.example/purge"),
            ("MEDIA_PURGE_SECRET", "s"),
        ]))
        .expect("webhook");
        assert!(matches!(ok, Some(PurgeTarget::Webhook { .. })));
        for scheme in [
            "ftp://hooks.example/purge",
            "file:///tmp/purge",
            "http://hooks.example/purge",
        ] {
            let err = PurgeTarget::from_lookup(&get_owned(&[
                ("MEDIA_PURGE", &format!("webhook:{scheme}")),
                ("MEDIA_PURGE_SECRET", "s"),
            ]))
            .expect_err(scheme);
            assert!(err.to_string().contains("MEDIA_PURGE"), "{err}");
        }
        let err = PurgeTarget::from_lookup(&get_owned(&[
            ("MEDIA_PURGE", "fastly:svc"),
            ("FASTLY_API_TOKEN", "t"),
            ("FASTLY_API_BASE", "http://fastly.example"),
        ]))
        .expect_err("plain http to another machine");
        assert!(err.to_string().contains("FASTLY_API_BASE"), "{err}");
    }

    fn get_owned(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    #[test]
    fn the_webhook_signature_is_hmac_sha256_of_timestamp_and_body() {
        // Computed with Python's hmac module, independently of this code.
        assert_eq!(
            webhook_signature("s3cret", "1700000000", br#"{"ids":["a"]}"#),
            "sha256=32c6d957f8cfe8b346d73b9735034d7ce6d3f4cef0d63ea95bc777f0ee87162b"
        );
    }
}
