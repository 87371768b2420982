//! The fake's delivery side: originals with byte ranges, and transformed
//! images rendered for real, each URL signed as strict transformations
//! demand.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use sha1::Sha1;
use sha2::Digest;

use super::{FakeState, StoredResource};

/// Delivery: `[s--SIG--/][TRANSFORMATIONS/][vN/]{public_id}[.ext]`, as on
/// an account with strict transformations: a transformed URL must carry
/// the signature Cloudinary documents (the first 8 characters of the
/// URL-safe base64 SHA-1 of `"{transformations}/{public_id}.{ext}"` plus the
/// API secret), else 401 with `x-cld-error`. Originals honour single byte
/// ranges; transformed images are really rendered for the few parameters
/// the service sends (`c_`, `w_`, `h_`, `f_`), so a proxy can be checked by
/// what it delivers.
pub(super) async fn deliver(
    State(state): State<FakeState>,
    Path((cloud, resource_type, path)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> Response {
    if cloud != state.cloud {
        return StatusCode::NOT_FOUND.into_response();
    }
    if let Some(failed) = state.before("deliver").await {
        return failed;
    }
    let mut segments: Vec<&str> = path.split('/').collect();
    let signature = segments
        .first()
        .and_then(|s| s.strip_prefix("s--"))
        .and_then(|s| s.strip_suffix("--"))
        .map(str::to_owned);
    if signature.is_some() {
        segments.remove(0);
    }
    // The public id is the longest tail naming a resource (ids contain '/').
    let found = {
        let inner = state.lock();
        (0..segments.len()).find_map(|split| {
            let tail = segments[split..].join("/");
            // A raw file's public id is its whole name, extension and all.
            let (id, ext) = match tail.rsplit_once('.') {
                Some((id, ext)) if !id.contains('.') && resource_type != "raw" => {
                    (id.to_owned(), Some(ext.to_owned()))
                }
                _ => (tail.clone(), None),
            };
            inner
                .resources
                .get(&(resource_type.clone(), id))
                .cloned()
                .map(|r| (split, tail, ext, r))
        })
    };
    let Some((split, file, ext, resource)) = found else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let components: Vec<&str> = segments[..split]
        .iter()
        .copied()
        .filter(|c| {
            !(c.starts_with('v') && c.len() > 1 && c[1..].bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    if components.is_empty() {
        return deliver_original(resource, &headers);
    }
    if resource_type != "image" {
        return (
            StatusCode::BAD_REQUEST,
            [("x-cld-error", "The fake transforms images only")],
        )
            .into_response();
    }
    let to_sign = format!("{}/{file}", components.join("/"));
    let expected = {
        let digest = Sha1::digest(format!("{to_sign}{}", state.api_secret));
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)[..8].to_owned()
    };
    if signature.as_deref() != Some(expected.as_str()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(
                "x-cld-error",
                "Transformation not allowed: strict transformations",
            )],
        )
            .into_response();
    }
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    match render(&resource.bytes, &components, ext.as_deref(), accept) {
        Ok((bytes, mime)) => (StatusCode::OK, [("content-type", mime)], bytes).into_response(),
        Err(message) => (StatusCode::BAD_REQUEST, [("x-cld-error", message)]).into_response(),
    }
}

fn deliver_original(resource: StoredResource, headers: &HeaderMap) -> Response {
    let len = resource.bytes.len();
    let range = headers
        .get("range")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)));
    match range {
        Some((start, end)) if start <= end && start < len => {
            let end = end.min(len - 1);
            (
                StatusCode::PARTIAL_CONTENT,
                [("content-range", format!("bytes {start}-{end}/{len}"))],
                resource.bytes[start..=end].to_vec(),
            )
                .into_response()
        }
        _ => (StatusCode::OK, resource.bytes).into_response(),
    }
}

/// A small renderer: the last `w_`/`h_`/`c_` given win, `c_fill`/`c_thumb`
/// crop to the exact box, anything else fits inside it; `f_auto` picks WebP
/// when accepted, else the extension decides.
fn render(
    original: &[u8],
    components: &[&str],
    ext: Option<&str>,
    accept: &str,
) -> Result<(Vec<u8>, &'static str), String> {
    let (mut width, mut height, mut crop, mut format) = (None, None, "scale", None);
    for param in components.iter().flat_map(|c| c.split(',')) {
        let (key, value) = param
            .split_once('_')
            .ok_or_else(|| format!("Invalid transformation parameter {param}"))?;
        let number = || {
            value
                .parse::<u32>()
                .map_err(|_| format!("Invalid value {value} for parameter {key}"))
        };
        match key {
            "w" => width = Some(number()?),
            "h" => height = Some(number()?),
            "c" => crop = value,
            "f" => format = Some(value),
            "g" | "q" | "dpr" | "b" | "ar" => {}
            _ => return Err(format!("Invalid transformation parameter {key}")),
        }
    }
    let image = image::load_from_memory(original).map_err(|e| e.to_string())?;
    let (w, h) = (
        width.unwrap_or_else(|| {
            height.map_or(image.width(), |h| image.width() * h / image.height().max(1))
        }),
        height.unwrap_or_else(|| {
            width.map_or(image.height(), |w| {
                image.height() * w / image.width().max(1)
            })
        }),
    );
    let resized = match crop {
        "fill" | "thumb" | "lfill" => {
            image.resize_to_fill(w.max(1), h.max(1), image::imageops::FilterType::Triangle)
        }
        _ => image.resize(w.max(1), h.max(1), image::imageops::FilterType::Triangle),
    };
    let (kind, mime) = match (format, ext) {
        (Some("auto"), _) if accept.contains("image/webp") => {
            (image::ImageFormat::WebP, "image/webp")
        }
        (Some("png"), _) | (_, Some("png")) => (image::ImageFormat::Png, "image/png"),
        (Some("webp"), _) | (_, Some("webp")) => (image::ImageFormat::WebP, "image/webp"),
        _ => (image::ImageFormat::Jpeg, "image/jpeg"),
    };
    let resized = if kind == image::ImageFormat::Jpeg {
        image::DynamicImage::ImageRgb8(resized.to_rgb8())
    } else {
        resized
    };
    let mut out = std::io::Cursor::new(Vec::new());
    resized
        .write_to(&mut out, kind)
        .map_err(|e| e.to_string())?;
    Ok((out.into_inner(), mime))
}
