//! The secrets mailed in links (password resets, e-mail changes): 256
//! random bits in URL-safe base64, stored only as their SHA-256, and read
//! back only in the shape we mint, so nothing else is ever echoed into a
//! page. Refresh tokens are stored by the same hash.

use base64::Engine;
use rand::Rng;
use sha2::{Digest, Sha256};

/// Base64url of 32 bytes.
const TOKEN_CHARS: usize = 43;

pub fn mint() -> String {
    let secret: [u8; 32] = rand::rng().random();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
}

/// Hex SHA-256: what is stored instead of the token.
pub fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A token as we mint them, or nothing.
pub fn parse(raw: &str) -> Option<&str> {
    let token = raw.trim();
    (token.len() == TOKEN_CHARS
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
    .then_some(token)
}

/// The small server page a link opens, titled `title` (lower case; the
/// heading capitalises it).
pub fn page(title: &str, body: &str) -> String {
    let mut chars = title.chars();
    let heading: String = chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    format!(
        "<!doctype html><html lang=\"es\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"no-referrer\">\
         <title>Avenue: {title}</title></head>\
         <body style=\"font-family: Helvetica, Arial, sans-serif; max-width: 28rem; margin: 3rem auto\">\
         <h1>{heading}</h1>{body}</body></html>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokens_of_our_shape_are_taken() {
        let token = mint();
        assert_eq!(parse(&token), Some(token.as_str()));
        assert_eq!(parse("\"><script>"), None);
        assert_eq!(parse(&token[1..]), None);
    }
}
