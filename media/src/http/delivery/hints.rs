//! Client hints in and out: the device's width and pixel ratio read from
//! `Sec-CH-Width` / `Sec-CH-DPR` (or the legacy `Width` / `DPR`), and an
//! answer that used them says so in `Vary`, so a CDN keys each rounded
//! width apart, and asks for them with `Accept-CH`.

use axum::http::{header, HeaderMap, HeaderValue};

use crate::process::transformation::{Hints, HintsUsed};

/// Widest hint believed (device pixels); the transformation clamps to
/// its own limit anyway.
const MAX_HINT_WIDTH: f64 = 100_000.0;

fn number(headers: &HeaderMap, names: [&str; 2]) -> Option<f64> {
    names.iter().find_map(|name| {
        headers
            .get(*name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
    })
}

pub(super) fn from_headers(headers: &HeaderMap) -> Hints {
    Hints {
        width: number(headers, ["sec-ch-width", "width"])
            .map(|w| w.min(MAX_HINT_WIDTH).ceil() as u32),
        dpr: number(headers, ["sec-ch-dpr", "dpr"]).map(|d| d.min(10.0)),
    }
}

/// Adds the hints `used` to `Vary` (beside what is there) and asks for
/// them with `Accept-CH`.
pub(super) fn announce(answer: &mut HeaderMap, used: HintsUsed) {
    let mut names: Vec<&str> = Vec::new();
    if used.width {
        names.extend(["Sec-CH-Width", "Width"]);
    }
    if used.dpr {
        names.extend(["Sec-CH-DPR", "DPR"]);
    }
    if names.is_empty() {
        return;
    }
    let hints = names.join(", ");
    let vary = match answer.get(header::VARY).and_then(|v| v.to_str().ok()) {
        Some(existing) => format!("{existing}, {hints}"),
        None => hints.clone(),
    };
    if let Ok(value) = HeaderValue::from_str(&vary) {
        answer.insert(header::VARY, value);
    }
    if let Ok(value) = HeaderValue::from_str(&hints) {
        answer.insert(header::HeaderName::from_static("accept-ch"), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_read_from_either_spelling_and_announced() {
        let mut headers = HeaderMap::new();
        headers.insert("width", HeaderValue::from_static("333.4"));
        headers.insert("sec-ch-dpr", HeaderValue::from_static("2"));
        assert_eq!(
            from_headers(&headers),
            Hints {
                width: Some(334),
                dpr: Some(2.0)
            }
        );
        headers.insert("sec-ch-width", HeaderValue::from_static("nonsense"));
        assert_eq!(from_headers(&headers).width, Some(334));
        headers.insert("sec-ch-width", HeaderValue::from_static("-5"));
        headers.remove("width");
        assert_eq!(from_headers(&headers).width, None);

        let mut answer = HeaderMap::new();
        answer.insert(header::VARY, HeaderValue::from_static("Accept"));
        announce(
            &mut answer,
            HintsUsed {
                width: true,
                dpr: false,
            },
        );
        assert_eq!(answer[header::VARY], "Accept, Sec-CH-Width, Width");
        assert_eq!(answer["accept-ch"], "Sec-CH-Width, Width");
        let mut plain = HeaderMap::new();
        announce(&mut plain, HintsUsed::default());
        assert!(plain.is_empty());
    }
}
