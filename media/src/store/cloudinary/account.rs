//! Account settings from `CLOUDINARY_URL`, read the way the official SDKs
//! read it: `cloudinary://API_KEY:API_SECRET@CLOUD_NAME`, with the query key
//! `upload_prefix` pointing the API at another host.

use std::fmt;

use url::Url;

use super::signing::SignatureAlgorithm;

pub const DEFAULT_API_BASE: &str = "https://api.cloudinary.com";

#[derive(Clone)]
pub struct CloudinaryAccount {
    pub cloud_name: String,
    pub api_key: String,
    api_secret: String,
    /// Where the upload API lives (the SDKs' `upload_prefix`).
    pub api_base: Url,
    pub algorithm: SignatureAlgorithm,
}

impl fmt::Debug for CloudinaryAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudinaryAccount")
            .field("cloud_name", &self.cloud_name)
            .field("api_key", &self.api_key)
            .field("api_secret", &"<redacted>")
            .field("api_base", &self.api_base.as_str())
            .field("algorithm", &self.algorithm)
            .finish()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CLOUDINARY_URL: {0}")]
pub struct AccountError(String);

impl CloudinaryAccount {
    /// Parses `CLOUDINARY_URL`; `api_base` (from `CLOUDINARY_API_BASE`)
    /// applies unless the URL carries `upload_prefix`.
    ///
    /// # Errors
    /// [`AccountError`] naming what is missing or malformed (never the secret).
    pub fn parse(raw: &str, api_base: Option<&str>) -> Result<Self, AccountError> {
        let err = |m: &str| AccountError(m.to_owned());
        let url = Url::parse(raw)
            .map_err(|_| err("expected cloudinary://API_KEY:API_SECRET@CLOUD_NAME"))?;
        if url.scheme() != "cloudinary" {
            return Err(err("the scheme must be cloudinary://"));
        }
        let cloud_name = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| err("the cloud name (after @) is missing"))?
            .to_owned();
        let api_key = url.username().to_owned();
        // Secrets may hold characters a URL must escape.
        let api_secret = url
            .password()
            .map(|p| {
                percent_encoding::percent_decode_str(p)
                    .decode_utf8_lossy()
                    .into_owned()
            })
            .unwrap_or_default();
        if api_key.is_empty() || api_secret.is_empty() {
            return Err(err("the API key and secret (before @) are missing"));
        }
        let mut prefix = api_base.map(str::to_owned);
        let mut algorithm = SignatureAlgorithm::Sha1;
        for (key, value) in url.query_pairs() {
            match key.as_ref() {
                "upload_prefix" => prefix = Some(value.into_owned()),
                "signature_algorithm" => {
                    algorithm = SignatureAlgorithm::parse(&value)
                        .ok_or_else(|| err("signature_algorithm must be sha1 or sha256"))?;
                }
                _ => {}
            }
        }
        let api_base = avenue_shared::net::outbound_url(
            "upload_prefix / CLOUDINARY_API_BASE",
            prefix.as_deref().unwrap_or(DEFAULT_API_BASE),
        )
        .map_err(AccountError)?;
        Ok(Self {
            cloud_name,
            api_key,
            api_secret,
            api_base,
            algorithm,
        })
    }

    pub fn api_secret(&self) -> &str {
        &self.api_secret
    }

    /// `{api_base}/v1_1/{cloud}/{resource_type}/{action}`.
    pub fn endpoint(&self, resource_type: &str, action: &str) -> String {
        format!(
            "{}/v1_1/{}/{resource_type}/{action}",
            self.api_base.as_str().trim_end_matches('/'),
            self.cloud_name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sdk_format_and_upload_prefix() {
        let a = CloudinaryAccount::parse("cloudinary://123:abc@demo", None).expect("valid");
        assert_eq!(
            (a.cloud_name.as_str(), a.api_key.as_str(), a.api_secret()),
            ("demo", "123", "abc")
        );
        assert_eq!(
            a.endpoint("image", "upload"),
            "https://api.cloudinary.com/v1_1/demo/image/upload"
        );
        let b = CloudinaryAccount::parse(
            "cloudinary://123:abc@demo?upload_prefix=http://127.0.0.1:9999&signature_algorithm=sha256",
            Some("https://ignored.example"),
        )
        .expect("valid");
        assert_eq!(
            b.endpoint("image", "destroy"),
            "http://127.0.0.1:9999/v1_1/demo/image/destroy"
        );
        assert_eq!(b.algorithm, SignatureAlgorithm::Sha256);
        let c = CloudinaryAccount::parse("cloudinary://123:abc@demo", Some("http://127.0.0.1:1"))
            .expect("valid");
        assert_eq!(
            c.endpoint("image", "upload"),
            "http://127.0.0.1:1/v1_1/demo/image/upload"
        );
    }

    #[test]
    fn refuses_incomplete_urls_without_printing_the_secret() {
        for bad in [
            "https://123:abc@demo",
            "cloudinary://123@demo",
            "cloudinary://:abc@demo",
            "nonsense",
        ] {
            let err = CloudinaryAccount::parse(bad, None).expect_err(bad);
            assert!(!err.to_string().contains("abc"), "{err}");
        }
        let escaped = CloudinaryAccount::parse("cloudinary://123:a%2Fb@demo", None).expect("valid");
        assert_eq!(escaped.api_secret(), "a/b");
        let a = CloudinaryAccount::parse("cloudinary://123:s3cr3t@demo", None).expect("valid");
        assert!(!format!("{a:?}").contains("s3cr3t"));
    }
}
