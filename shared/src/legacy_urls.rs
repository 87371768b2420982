//! `legacy_urls`: the old back end's image links (`/api/uploads/NAME`,
//! `/uploads/NAME`) and the media each now is. avenue-media's imports write
//! it; the api answers old links from it with a redirect. The two services
//! share this name and the path's normal form, nothing else.

pub const LEGACY_URLS: &str = "legacy_urls";

/// The key an old link is stored under: its path (whatever host served
/// it), without query or fragment, starting with `/`, never ending with
/// one. `None` for something that is no link.
pub fn old_path(raw: &str) -> Option<String> {
    let text = raw.trim();
    let encoded = match url::Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url.path().to_owned(),
        Ok(_) => return None,
        Err(_) => text.split(['?', '#']).next().unwrap_or(text).to_owned(),
    };
    // Request paths arrive encoded, file names do not; `%` in a file name
    // is rare enough that decoding both is the one form that meets.
    let path = percent_encoding::percent_decode_str(&encoded)
        .decode_utf8()
        .ok()?
        .into_owned();
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        return None;
    }
    Some(if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    })
}

#[cfg(test)]
mod tests {
    use super::old_path;

    #[test]
    fn links_of_any_host_share_one_key() {
        let key = Some("/api/uploads/ropa/vestido azul.jpg".to_owned());
        assert_eq!(
            old_path("https://avenue.com.py/api/uploads/ropa/vestido%20azul.jpg?v=2"),
            key
        );
        assert_eq!(old_path("/api/uploads/ropa/vestido azul.jpg"), key);
        assert_eq!(old_path("/api/uploads/ropa/vestido%20azul.jpg"), key);
        assert_eq!(old_path("api/uploads/ropa/vestido azul.jpg#x"), key);
        assert_eq!(old_path("mailto:a@b.c"), None);
        assert_eq!(old_path("  "), None);
    }
}
