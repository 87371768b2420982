//! Public delivery with URLs shaped like Cloudinary's:
//! `/image/upload/[s--SIG--/][TRANSFORMATIONS/][vVERSION/]{id}[.{ext}]`.
//! Without an extension (as Cloudinary's SDKs and `CldImage` write by
//! default) the answer keeps the original's format unless `f_` names one.
//! Originals stream from the store (with ranges); transformed variants
//! come from the variant cache. Every URL names fixed bytes (ids are
//! content addresses), so every answer may be cached forever.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use avenue_shared::MediaId;

use super::conditional::{etag_for, none_match_hits};
use super::error::AppError;
use super::files::not_an_image;
use super::originals::{cache_headers, original, redirect};
use super::AppState;
use crate::config::AutoAvif;
use crate::config::RemoteDelivery;
use crate::media::background::{family, BackgroundRender};
use crate::media::repo::MediaRecord;
use crate::media::variants::{quality_for, VariantRequest};
use crate::process::format::ImageFormat;
use crate::process::presets::Presets;
use crate::process::signature;
use crate::process::transformation::{FormatRequest, Transformation};
use crate::store::Store;

/// How long a WebP stand-in for an AVIF not rendered yet may be cached:
/// long enough to absorb a burst, short enough that the CDN soon asks
/// again and gets the AVIF.
const STAND_IN_CACHE: &str = "public, max-age=60";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/image/upload/{*path}", get(deliver))
        .merge(super::files::router())
}

/// The parsed tail of a delivery URL.
#[derive(Debug, PartialEq, Eq)]
struct DeliveryPath<'a> {
    signature: Option<&'a str>,
    components: Vec<&'a str>,
    /// `{id}[.{ext}]` as written: part of what is signed.
    file: &'a str,
    id: MediaId,
    /// `None`: the original's format.
    ext: Option<ImageFormat>,
}

impl DeliveryPath<'_> {
    /// What Cloudinary signs: the transformations and the file, not the version.
    fn to_sign(&self) -> String {
        if self.components.is_empty() {
            self.file.to_owned()
        } else {
            format!("{}/{}", self.components.join("/"), self.file)
        }
    }

    /// Exactly one named preset: the only transformation served unsigned
    /// in strict mode. A chain of presets is a transformation like any
    /// other (4^8 chains per media could otherwise be forced to render).
    fn single_preset(&self) -> bool {
        matches!(self.components.as_slice(), [only] if preset_name(only).is_some())
    }
}

fn preset_name(component: &str) -> Option<&str> {
    component
        .strip_prefix("t_")
        .filter(|name| !name.contains(','))
}

fn parse_path(path: &str) -> Result<DeliveryPath<'_>, AppError> {
    let mut segments: Vec<&str> = path.split('/').collect();
    let file = segments.pop().unwrap_or_default();
    let mut signature = None;
    if let Some(first) = segments.first() {
        if let Some(sig) = first.strip_prefix("s--").and_then(|s| s.strip_suffix("--")) {
            signature = Some(sig);
            segments.remove(0);
        }
    }
    // A version segment only busts caches; content addressing already makes
    // every URL immutable, so any version serves the same bytes.
    if segments.last().is_some_and(|s| {
        s.len() > 1 && s.starts_with('v') && s[1..].bytes().all(|b| b.is_ascii_digit())
    }) {
        segments.pop();
    }
    let (id, ext) = match file.rsplit_once('.') {
        Some((id, ext)) => (id, Some(ext)),
        None => (file, None),
    };
    let id =
        MediaId::parse(id).map_err(|err| AppError::bad_request("invalid-id", err.to_string()))?;
    let ext = ext
        .map(|ext| {
            ImageFormat::from_extension(&ext.to_ascii_lowercase()).ok_or_else(|| {
                AppError::bad_request(
                    "invalid-path",
                    format!("unknown extension '{ext}'; use jpg, png, webp, gif or avif, or none for the original's format"),
                )
            })
        })
        .transpose()?;
    Ok(DeliveryPath {
        signature,
        components: segments,
        file,
        id,
        ext,
    })
}

/// Replaces each `t_NAME` by its transformation and parses the result.
fn expand(components: &[&str], presets: &Presets) -> Result<Transformation, AppError> {
    let mut expanded: Vec<&str> = Vec::new();
    for component in components {
        match preset_name(component) {
            Some(name) => {
                let value = presets.get(name).ok_or_else(|| {
                    AppError::bad_request(
                        "invalid-transformation",
                        format!(
                            "t: no preset named '{}'",
                            name.chars().take(40).collect::<String>()
                        ),
                    )
                })?;
                expanded.extend(value.split('/'));
            }
            None => expanded.push(component),
        }
    }
    Transformation::parse(expanded)
        .map_err(|err| AppError::bad_request("invalid-transformation", err.to_string()))
}

fn accepts(accept: Option<&str>, mime: &str) -> bool {
    accept.is_some_and(|accept| {
        accept.split(',').any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let kind = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.replace(' ', "") == "q=0");
            kind.eq_ignore_ascii_case(mime) && !refused
        })
    })
}

/// The output format, and whether it depended on `Accept`.
fn choose_output(
    requested: Option<FormatRequest>,
    ext: ImageFormat,
    original: ImageFormat,
    accept: Option<&str>,
) -> Result<(ImageFormat, bool), AppError> {
    match requested {
        Some(FormatRequest::Auto) => {
            if accepts(accept, "image/avif") {
                Ok((ImageFormat::Avif, true))
            } else if accepts(accept, "image/webp") {
                Ok((ImageFormat::Webp, true))
            } else {
                Ok((family(original), true))
            }
        }
        Some(FormatRequest::Jpeg) => Ok((ImageFormat::Jpeg, false)),
        Some(FormatRequest::Png) => Ok((ImageFormat::Png, false)),
        Some(FormatRequest::Webp) => Ok((ImageFormat::Webp, false)),
        Some(FormatRequest::Avif) => Ok((ImageFormat::Avif, false)),
        None => match ext {
            ImageFormat::Jpeg => Ok((ImageFormat::Jpeg, false)),
            ImageFormat::Png => Ok((ImageFormat::Png, false)),
            ImageFormat::Webp => Ok((ImageFormat::Webp, false)),
            ImageFormat::Gif => Ok((ImageFormat::Gif, false)),
            ImageFormat::Avif => Ok((ImageFormat::Avif, false)),
            // Browsers other than Safari cannot show HEIC: it is kept and
            // served as uploaded, and every rendering is another format.
            ImageFormat::Heic => Err(AppError::bad_request(
                "invalid-transformation",
                "HEIC is delivered only as uploaded; ask for .jpg, .png, .webp or .avif (or f_auto) to transform it",
            )),
        },
    }
}

fn forbidden(code: &'static str, message: &str) -> AppError {
    AppError::Rejected {
        status: StatusCode::FORBIDDEN,
        code,
        message: message.to_owned(),
    }
}

#[utoipa::path(get, path = "/image/upload/{path}", tag = "delivery",
    params(("path" = String, Path, description = "[s--SIG--/][TRANSFORMATIONS/][vN/]{id}[.{ext}] (no extension: the original's format)")),
    responses((status = 200, description = "the image, cacheable for ever"), (status = 206), (status = 302, description = "to the backend (Cloudinary)"), (status = 304),
        (status = 400, body = avenue_shared::ErrorBody), (status = 403, body = avenue_shared::ErrorBody), (status = 404, body = avenue_shared::ErrorBody), (status = 422, body = avenue_shared::ErrorBody)))]
async fn deliver(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(path): Path<String>,
) -> Result<Response, AppError> {
    let wanted = parse_path(&path)?;
    let transformation = expand(&wanted.components, &state.delivery.presets)?;
    let signing_secret = state.delivery.signing_secret.expose();
    let signed = match wanted.signature {
        Some(given) if signature::verify(given, &wanted.to_sign(), signing_secret) => true,
        Some(_) => {
            return Err(forbidden(
                "bad-signature",
                "the URL signature does not match its transformation",
            ))
        }
        None => false,
    };
    let record = state.library.get_for_delivery(&wanted.id).await?;
    let Some(source_format) = record.format.image() else {
        return Err(not_an_image(&record));
    };
    // No extension asks for the original's format.
    let ext = wanted.ext.unwrap_or(source_format);
    let plain_original = wanted.components.is_empty() && ext == source_format;
    let responsive = transformation
        .responsive_width()
        .is_some_and(|w| state.delivery.responsive_widths.contains(&w));
    if state.delivery.strict && !signed && !plain_original && !wanted.single_preset() && !responsive
    {
        return Err(forbidden(
            "signature-required",
            "unsigned URLs may use one named preset (t_NAME) or a responsive width (c_limit,f_auto,q_auto,w_W with W in MEDIA_RESPONSIVE_WIDTHS) only; sign other transformations and chains",
        ));
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    // Backends that render and deliver themselves (Cloudinary) get the same
    // transformation, through a redirect or through us. Always its
    // canonical text, never what the client wrote: only values we parsed,
    // in the one spelling Cloudinary reads, reach another service.
    let canonical = transformation.canonical();
    let store = state.library.stores().get(record.backend)?;
    if let Some(location) = store.public_url(&record.storage_key, &canonical, ext.extension()) {
        match state.delivery.remote {
            RemoteDelivery::Redirect => return Ok(redirect(&location)),
            RemoteDelivery::Proxy if !plain_original => {
                let (format, varies) =
                    choose_output(transformation.format(), ext, source_format, accept)?;
                let etag = etag_for(&proxied_id(&record, &canonical, format));
                return proxy(store.as_ref(), &location, &etag, varies, &method, &headers).await;
            }
            // Originals stream from the store, ranges and all.
            RemoteDelivery::Proxy => {}
        }
    }
    if plain_original {
        return original(&state, &record, &method, &headers).await;
    }

    let (mut format, varies) = choose_output(transformation.format(), ext, source_format, accept)?;
    let mut request = VariantRequest {
        record: &record,
        source_format,
        transformation: &transformation,
        format,
        quality: quality_for(format, &transformation),
    };
    let mut id = request.id();
    let mut stand_in = false;
    if varies && format == ImageFormat::Avif && state.delivery.auto_avif == AutoAvif::Deferred {
        // AVIF costs tens of times WebP's CPU: a first visitor should not
        // wait for it. Until it exists it is rendered in the background,
        // and the browser (which accepts WebP too) gets WebP, briefly
        // cacheable, after which the CDN asks again and gets the AVIF.
        if !state.variants.ready(&id).await {
            state.background.enqueue(BackgroundRender::of(&request));
            format = ImageFormat::Webp;
            request.format = format;
            request.quality = quality_for(format, &transformation);
            id = request.id();
            stand_in = true;
        }
    }
    let etag = etag_for(&id);
    let mut response_headers = cache_headers(&etag);
    if stand_in {
        response_headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(STAND_IN_CACHE),
        );
    }
    if varies {
        response_headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if header_str(header::IF_NONE_MATCH).is_some_and(|inm| none_match_hits(inm, &etag)) {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    let variant = state.variants.get(&request).await?;
    response_headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(variant.format.mime()),
    );
    response_headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(variant.bytes.len()),
    );
    if method == Method::HEAD {
        return Ok((StatusCode::OK, response_headers).into_response());
    }
    Ok((StatusCode::OK, response_headers, Body::from(variant.bytes)).into_response())
}

/// Names what a proxied URL delivers: the original's bytes, the expanded
/// transformation and the negotiated format decide it completely.
fn proxied_id(record: &MediaRecord, transformation: &str, format: ImageFormat) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(record.sha256.as_bytes())
        .chain_update(b"\0")
        .chain_update(transformation.as_bytes())
        .chain_update(b"\0")
        .chain_update(format.extension().as_bytes())
        .finalize();
    format!("cld-{}", &hex::encode(digest)[..32])
}

/// Streams what the backend renders, with our own cache headers, so the
/// CDN sees one origin and immutable answers.
async fn proxy(
    store: &dyn Store,
    location: &url::Url,
    etag: &str,
    varies: bool,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Response, AppError> {
    let mut response_headers = cache_headers(etag);
    if varies {
        response_headers.insert(header::VARY, HeaderValue::from_static("Accept"));
    }
    let header_str = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    if header_str(header::IF_NONE_MATCH).is_some_and(|inm| none_match_hits(inm, etag)) {
        return Ok((StatusCode::NOT_MODIFIED, response_headers).into_response());
    }
    let rendered = store
        .fetch_public(location, header_str(header::ACCEPT))
        .await?;
    // Only an image type passes through: anything else (an HTML error
    // page, a script) would be served from our origin, cached for a year.
    let content_type = rendered
        .content_type
        .filter(|t| {
            [
                "image/jpeg",
                "image/png",
                "image/webp",
                "image/gif",
                "image/avif",
            ]
            .iter()
            .any(|allowed| {
                t.split(';')
                    .next()
                    .is_some_and(|m| m.trim().eq_ignore_ascii_case(allowed))
            })
        })
        .and_then(|t| HeaderValue::from_str(&t).ok())
        .ok_or_else(|| {
            crate::store::StoreError::Rejected(
                "the backend answered something that is not an image".into(),
            )
        })?;
    response_headers.insert(header::CONTENT_TYPE, content_type);
    if let Some(length) = rendered.length {
        response_headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    if *method == Method::HEAD {
        return Ok((StatusCode::OK, response_headers).into_response());
    }
    Ok((
        StatusCode::OK,
        response_headers,
        Body::from_stream(rendered.body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_paths_with_signature_transformations_and_version() {
        let plain_path = format!("{ID}.jpg");
        let plain = parse_path(&plain_path).expect("valid");
        assert_eq!(plain.ext, Some(ImageFormat::Jpeg));
        assert!(plain.components.is_empty());
        let full_path = format!("s--abcdefgh--/c_fill,w_10/t_card/v17/{ID}.png");
        let full = parse_path(&full_path).expect("valid");
        assert_eq!(full.signature, Some("abcdefgh"));
        assert_eq!(full.components, vec!["c_fill,w_10", "t_card"]);
        assert_eq!(full.to_sign(), format!("c_fill,w_10/t_card/{ID}.png"));
        assert!(!full.single_preset());
        assert!(parse_path(&format!("t_card/{ID}.png"))
            .expect("valid")
            .single_preset());
        assert!(!parse_path(&format!("t_hero/t_card/t_thumb/{ID}.png"))
            .expect("valid")
            .single_preset());
        assert!(parse_path(&format!("{ID}.JPEG")).is_ok());
    }

    #[test]
    fn the_extension_may_be_left_out_as_the_sdks_do() {
        // `cloudinary.url(id, {width: 400, crop: "scale"})`, and CldImage's
        // shape with the version after the components.
        let bare = parse_path(ID).expect("valid");
        assert_eq!(bare.ext, None);
        assert_eq!(bare.to_sign(), ID);
        let written = format!("s--abcdefgh--/c_limit,w_800/f_auto/q_auto/v1/{ID}");
        let sdk = parse_path(&written).expect("valid");
        assert_eq!(sdk.ext, None);
        assert_eq!(sdk.components, vec!["c_limit,w_800", "f_auto", "q_auto"]);
        assert_eq!(sdk.to_sign(), format!("c_limit,w_800/f_auto/q_auto/{ID}"));
    }

    #[test]
    fn refuses_bad_paths() {
        assert!(parse_path("not-an-id").is_err());
        assert!(parse_path(&format!("{ID}.")).is_err());
        assert!(parse_path(&format!("{ID}.exe")).is_err());
        assert!(parse_path("../../etc/passwd.jpg").is_err());
    }

    #[test]
    fn presets_expand_and_unknown_ones_are_refused() {
        let presets = Presets::defaults();
        let t = expand(&["t_card", "q_50"], &presets).expect("valid");
        assert_eq!(t.steps.len(), 2);
        assert_eq!(t.canonical(), "c_fill,g_auto,h_300,w_400/q_50");
        assert!(expand(&["t_nope"], &presets).is_err());
    }

    #[test]
    fn format_negotiation() {
        let auto = Some(FormatRequest::Auto);
        let jpg = ImageFormat::Jpeg;
        assert_eq!(
            choose_output(auto, jpg, jpg, Some("image/avif,image/webp,*/*")).expect("ok"),
            (ImageFormat::Avif, true)
        );
        assert_eq!(
            choose_output(auto, jpg, jpg, Some("image/webp,*/*")).expect("ok"),
            (ImageFormat::Webp, true)
        );
        assert_eq!(
            choose_output(auto, jpg, jpg, Some("image/webp;q=0, */*")).expect("ok"),
            (ImageFormat::Jpeg, true)
        );
        assert_eq!(
            choose_output(auto, jpg, ImageFormat::Png, None).expect("ok"),
            (ImageFormat::Png, true)
        );
        assert_eq!(
            choose_output(None, ImageFormat::Webp, jpg, None).expect("ok"),
            (ImageFormat::Webp, false)
        );
        assert_eq!(
            choose_output(Some(FormatRequest::Avif), jpg, jpg, None).expect("ok"),
            (ImageFormat::Avif, false)
        );
    }
}
