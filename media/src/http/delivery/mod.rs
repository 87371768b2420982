//! Public delivery with URLs shaped like Cloudinary's:
//! `/image/upload/[s--SIG--/][TRANSFORMATIONS/][vVERSION/]{id}[.{ext}]`.
//! Without an extension (as Cloudinary's SDKs and `CldImage` write by
//! default) the answer keeps the original's format unless `f_` names one.
//! Originals stream from the store (with ranges); transformed variants
//! come from the variant cache. Every URL names fixed bytes (ids are
//! content addresses), so every answer may be cached forever.

use axum::body::Body;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::conditional::{etag_for, none_match_hits};
use super::error::AppError;
use super::files::not_an_image;
use super::originals::{cache_headers, original, redirect};
use super::AppState;
use crate::config::AutoAvif;
use crate::config::RemoteDelivery;
use avenue_shared::net::FORWARDED_FOR;
use avenue_shared::MediaId;

use crate::media::background::BackgroundRender;
use crate::media::error::MediaError;
use crate::media::repo::MediaRecord;
use crate::media::variants::{quality_for, VariantRequest};
use crate::process::format::{FileFormat, ImageFormat};
use crate::process::signature;
use crate::process::transformation::{HintsUsed, Transformation};
use crate::store::ResourceKind;

/// How long a WebP stand-in for an AVIF not rendered yet may be cached:
/// long enough to absorb a burst, short enough that the CDN soon asks
/// again and gets the AVIF.
const STAND_IN_CACHE: &str = "public, max-age=60";

mod hints;
mod negotiate;
mod path;
mod proxy;
mod unsigned;

use unsigned::Admission;
pub use unsigned::UnsignedBudget;

use negotiate::choose_output;
use path::{expand, parse_path, DeliveryPath};
use proxy::{proxied_id, proxy};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/image/upload/{*path}", get(deliver))
        .merge(super::files::router())
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
    OriginalUri(uri): OriginalUri,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Result<Response, AppError> {
    deliver_under(ResourceKind::Image, &state, method, headers, &uri, peer).await
}

/// `/video/upload/[…/]{id}.jpg`: a frame of a video, as an image, with
/// any image transformation (Cloudinary's video thumbnails).
pub(super) async fn deliver_frame(
    state: &AppState,
    method: Method,
    headers: HeaderMap,
    uri: &Uri,
    peer: SocketAddr,
) -> Result<Response, AppError> {
    deliver_under(ResourceKind::Video, state, method, headers, uri, peer).await
}

async fn deliver_under(
    route: ResourceKind,
    state: &AppState,
    method: Method,
    headers: HeaderMap,
    uri: &Uri,
    peer: SocketAddr,
) -> Result<Response, AppError> {
    // The path as written, not percent-decoded: a value may hold an
    // encoded `,` or `/` (decoded only once split), and the signature
    // covers the text the SDK wrote.
    let prefix = format!("/{}/upload/", route.as_str());
    let path = uri.path().strip_prefix(&prefix).unwrap_or_default();
    let wanted = parse_path(path)?;
    let written = expand(&wanted.components, &state.delivery.presets)?;
    let signing_secret = state.delivery.signing_secret.expose();
    let signed = match wanted.signature {
        Some(given)
            if wanted
                .signed_forms()
                .iter()
                .any(|form| signature::verify(given, form, signing_secret)) =>
        {
            true
        }
        Some(_) => {
            return Err(forbidden(
                "bad-signature",
                "the URL signature does not match its transformation",
            ))
        }
        None => false,
    };
    let (admission, snapped) = if signed || !state.delivery.strict {
        (Admission::NotAsked, None)
    } else {
        unsigned::admit(&state.delivery.unsigned, &wanted, &written)
    };
    let asked_for = snapped.unwrap_or(written);
    // Most URLs wait for no hint: no copy of them on the hit path.
    let (transformation, hints_used) = if asked_for.uses_hints() {
        asked_for
            .with_hints(hints::from_headers(&headers))
            .map_err(|err| AppError::bad_request("invalid-transformation", err.to_string()))?
    } else {
        (asked_for, HintsUsed::default())
    };
    let forwarded = headers.get(FORWARDED_FOR).and_then(|v| v.to_str().ok());
    let client = state.api.client_address(peer.ip(), forwarded);
    let (record, standing_in) = match state.library.get_for_delivery(&wanted.id).await {
        Ok(record) => (record, false),
        Err(MediaError::NotFound) => match &transformation.default_image {
            Some(default) => {
                let id = default_image_id(default)?;
                (state.library.get_for_delivery(&id).await?, true)
            }
            None => return Err(MediaError::NotFound.into()),
        },
        Err(other) => return Err(other.into()),
    };
    let asked = Asked {
        route,
        method: &method,
        headers: &headers,
        wanted: &wanted,
        transformation: &transformation,
        signed,
        admission,
        client,
    };
    let mut response = respond(state, &asked, &record).await?;
    hints::announce(response.headers_mut(), hints_used);
    if response.status() != StatusCode::FOUND {
        let answer = response.headers_mut();
        if let Some(disposition) = disposition(&transformation, &wanted, answer) {
            answer.insert(header::CONTENT_DISPOSITION, disposition);
        }
        if standing_in {
            // The missing image may be uploaded later: its stand-in must
            // not outlive a short cache.
            answer.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(STAND_IN_CACHE),
            );
        }
    }
    Ok(response)
}

/// `d_ID.ext` names a media by its id; the extension is the SDKs' habit.
fn default_image_id(default: &str) -> Result<MediaId, AppError> {
    let id = default.split_once('.').map_or(default, |(id, _)| id);
    MediaId::parse(id)
        .map_err(|err| AppError::bad_request("invalid-transformation", format!("d: {err}")))
}

/// `fl_attachment[:NAME]`: a download named NAME (or the id) with the
/// extension of what is sent.
fn disposition(
    transformation: &Transformation,
    wanted: &DeliveryPath<'_>,
    answer: &HeaderMap,
) -> Option<HeaderValue> {
    let name = transformation.attachment()?;
    let ext = answer
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(ImageFormat::from_mime)
        .map_or("bin", ImageFormat::extension);
    let stem = name.map_or_else(|| wanted.id.to_string(), str::to_owned);
    HeaderValue::from_str(&format!("attachment; filename=\"{stem}.{ext}\"")).ok()
}

/// What a delivery request asked, once parsed and checked.
struct Asked<'a> {
    /// `/image/upload/` or `/video/upload/`.
    route: ResourceKind,
    method: &'a Method,
    headers: &'a HeaderMap,
    wanted: &'a DeliveryPath<'a>,
    /// Presets expanded, client hints resolved, unsigned sizes snapped.
    transformation: &'a Transformation,
    signed: bool,
    admission: Admission,
    /// The browser's address (`TRUSTED_PROXIES` believed).
    client: IpAddr,
}

/// The canonical text a backend that renders itself is sent: each layer
/// named by what that backend calls it, which it must hold.
async fn remote_text(
    state: &AppState,
    transformation: &Transformation,
    record: &MediaRecord,
) -> Result<String, AppError> {
    if transformation.layer_sources().is_empty() {
        return Ok(transformation.canonical());
    }
    let layers = state
        .variants
        .layer_records(transformation)
        .await
        .map_err(MediaError::from)?;
    if let Some(elsewhere) = layers.iter().find(|l| l.record.backend != record.backend) {
        return Err(AppError::bad_request(
            "invalid-transformation",
            format!(
                "l: media {} is stored on another backend; a backend draws only the layers it holds",
                elsewhere.record.id
            ),
        ));
    }
    let renamed = transformation.with_layer_ids(&|source| {
        layers
            .iter()
            .find(|l| l.public_id == source.public_id)
            .map_or_else(
                || source.public_id.clone(),
                |l| l.record.storage_key.as_str().replace('/', ":"),
            )
    });
    Ok(renamed.canonical())
}

/// What `record` is rendered from on `route`: an image's own format, or
/// the PNG drawn from a PDF's page or a video's frame.
fn rendered_from(route: ResourceKind, record: &MediaRecord) -> Result<ImageFormat, AppError> {
    match (route, record.format) {
        (ResourceKind::Image, FileFormat::Image(format)) => Ok(format),
        (ResourceKind::Image, FileFormat::Pdf) | (ResourceKind::Video, FileFormat::Video(_)) => {
            Ok(ImageFormat::Png)
        }
        (ResourceKind::Image, _) => Err(not_an_image(record)),
        _ => Err(AppError::bad_request(
            "wrong-resource-type",
            format!(
                "media {} is {}: /video/upload/ draws frames of videos only; ask for /image/upload/…/{}",
                record.id,
                record.format.mime(),
                record.id
            ),
        )),
    }
}

/// The answer for `record` (the asked media, or its stand-in).
async fn respond(
    state: &AppState,
    asked: &Asked<'_>,
    record: &MediaRecord,
) -> Result<Response, AppError> {
    let Asked {
        method,
        headers,
        wanted,
        transformation,
        signed,
        ..
    } = *asked;
    let source_format = rendered_from(asked.route, record)?;
    // No extension asks for the original's format. Flags about headers
    // (`fl_attachment`) and `d_` leave the original as it is.
    let ext = wanted.ext.unwrap_or(source_format);
    let plain_original = record.format.image().is_some()
        && transformation.keeps_pixels()
        && transformation.format().is_none()
        && transformation.quality().is_none()
        && ext == source_format;
    let responsive = transformation
        .responsive_width()
        .is_some_and(|w| state.delivery.responsive_widths.contains(&w));
    let needs_permission = state.delivery.strict
        && !signed
        && !plain_original
        && !wanted.single_preset()
        && !responsive;
    // Admitted unsigned shapes pay for their new renders per address.
    let unsigned_shape = needs_permission;
    if needs_permission {
        match &asked.admission {
            Admission::Admitted => {}
            Admission::Refused(reason) => return Err(forbidden("signature-required", reason)),
            Admission::NotAsked => return Err(forbidden(
                "signature-required",
                "unsigned URLs may use one named preset (t_NAME) or a responsive width (c_limit,f_auto,q_auto,w_W with W in MEDIA_RESPONSIVE_WIDTHS) only; sign other transformations and chains",
            )),
        }
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    // Backends that render and deliver themselves (Cloudinary) get the same
    // transformation, through a redirect or through us. Always its
    // canonical text, never what the client wrote: only values we parsed,
    // in the one spelling Cloudinary reads, reach another service.
    let store = state.library.stores().get(record.backend)?;
    // A PDF is kept as a raw file there, which Cloudinary does not draw:
    // its pages are drawn here, from the bytes read back.
    let remote = store.renders_itself() && record.format != FileFormat::Pdf;
    let canonical = if remote {
        remote_text(state, transformation, record).await?
    } else {
        String::new()
    };
    let location = if remote || record.format.image().is_some() {
        store.public_url(&record.storage_key, &canonical, ext.extension())
    } else {
        None
    };
    if let Some(location) = location {
        match state.delivery.remote {
            RemoteDelivery::Redirect => return Ok(redirect(&location)),
            RemoteDelivery::Proxy if !plain_original => {
                let (format, varies) =
                    choose_output(transformation.format(), ext, source_format, accept)?;
                let etag = etag_for(&proxied_id(record, &canonical, format));
                return proxy(store.as_ref(), &location, &etag, varies, method, headers).await;
            }
            // Originals stream from the store, ranges and all.
            RemoteDelivery::Proxy => {}
        }
    }
    if plain_original {
        return original(state, record, method, headers).await;
    }

    let (mut format, varies) = choose_output(transformation.format(), ext, source_format, accept)?;
    let mut request = VariantRequest {
        record,
        source_format,
        transformation,
        format,
        quality: quality_for(format, transformation),
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
            request.quality = quality_for(format, transformation);
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
    if unsigned_shape && !state.variants.ready(&id).await {
        state.unsigned_budget.charge(asked.client)?;
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
