//! The media library page for admins (`/admin/media`), and what it needs
//! beyond the management API: sign-in through the api's login (admins
//! only), the presets, signing of custom transformations, and a media's
//! stored variants. The page's files are embedded in the binary and load
//! nothing from elsewhere.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use avenue_shared::net::FORWARDED_FOR;
use avenue_shared::{MediaId, Role};

use super::auth::MediaManager;
use super::error::AppError;
use super::extract::JsonBody;
use super::AppState;
use crate::media::MediaError;
use crate::process::format::ImageFormat;
use crate::process::signature;
use crate::process::transformation::Transformation;

const PAGE: &str = include_str!("admin_page/media.html");
const SCRIPT: &str = include_str!("admin_page/media.js");
const STYLE: &str = include_str!("admin_page/media.css");
/// Scripts and styles from this origin only; images also from data: URLs
/// (local previews before upload).
const CSP: &str = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/media",
            get(|| async { asset(PAGE, "text/html; charset=utf-8") }),
        )
        .route(
            "/admin/media.js",
            get(|| async { asset(SCRIPT, "text/javascript; charset=utf-8") }),
        )
        .route(
            "/admin/media.css",
            get(|| async { asset(STYLE, "text/css; charset=utf-8") }),
        )
        .route("/admin/login", post(login))
        .route("/v1/presets", get(presets))
        .route("/v1/sign", post(sign))
        .route("/v1/media/{id}/variants", get(variants))
}

fn asset(body: &'static str, content_type: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

/// The cookie the page keeps its device credential in (see the api's
/// `device_token`): sent only back to `/admin`, never readable by scripts.
const DEVICE_COOKIE: &str = "avenue_device";

fn device_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == DEVICE_COOKIE)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Signs in with the api's login and hands the page the access token,
/// for admins only. The api's refusals (401, 429) pass through. The
/// browser's address goes to the api signed, so failures count against
/// the browser and never against media's own address; the device cookie
/// an earlier sign-in set goes along, so others' failures cannot lock
/// this browser's admin out.
#[utoipa::path(post, path = "/admin/login", tag = "admin", request_body(content = Object, description = "{email, password}"),
    responses((status = 200, description = "{access_token, expires_in, user}; sets the device cookie"), (status = 401), (status = 403), (status = 429), (status = 503)))]
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    JsonBody(login): JsonBody<Login>,
) -> Response {
    let forwarded = headers.get(FORWARDED_FOR).and_then(|v| v.to_str().ok());
    let client = state.api.client_address(peer.ip(), forwarded);
    let mut body = json!({ "email": login.email, "password": login.password });
    if let Some(device) = device_cookie(&headers) {
        body["device_token"] = Value::String(device);
    }
    let answer = match state.api.login(client, &body).await {
        Ok(answer) => answer,
        Err(err) => {
            tracing::warn!(error = %err, "the api's login is unreachable");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "code": "api-unavailable", "message": "sign-in is unavailable; try again" })),
            )
                .into_response();
        }
    };
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let retry_after = answer
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok());
    let body: Value = answer.json().await.unwrap_or(Value::Null);
    if status.is_redirection() || !(status.is_success() || status.is_client_error()) {
        tracing::warn!(%status, "the api's login answered unexpectedly");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "code": "api-unavailable", "message": "sign-in is unavailable; try again" })),
        )
            .into_response();
    }
    if !status.is_success() {
        let mut response = (status, Json(body)).into_response();
        if let Some(value) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return response;
    }
    if body["user"]["role"] != "admin" {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({ "code": "forbidden", "message": "the media library is for admins" })),
        )
            .into_response();
    }
    let mut response = Json(json!({
        "access_token": body["access_token"],
        "expires_in": body["expires_in"],
        "user": body["user"],
    }))
    .into_response();
    let cookie = body["device_token"]
        .as_str()
        .filter(|token| {
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        })
        .and_then(|token| {
            HeaderValue::from_str(&format!(
                "{DEVICE_COOKIE}={token}; Path=/admin; Max-Age=15552000; HttpOnly; Secure; SameSite=Strict"
            ))
            .ok()
        });
    if let Some(cookie) = cookie {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
}

fn admin_only(claims: &avenue_shared::Claims) -> Result<(), AppError> {
    if claims.role == Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The named presets, usable unsigned.
#[utoipa::path(get, path = "/v1/presets", tag = "admin", responses((status = 200, description = "[{name, transformation}]")), security(("bearer" = [])))]
async fn presets(State(state): State<AppState>, _manager: MediaManager) -> Json<Value> {
    Json(Value::Array(
        state
            .delivery
            .presets
            .iter()
            .map(|(name, transformation)| json!({ "name": name, "transformation": transformation }))
            .collect(),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignRequest {
    transformation: String,
    /// `{id}.{ext}`
    file: String,
}

/// Signs a custom transformation for a file (admins): answers the
/// delivery path with its `s--SIG--` component.
#[utoipa::path(post, path = "/v1/sign", tag = "admin", request_body(content = Object, description = "{transformation, file}"),
    responses((status = 200, description = "{path}"), (status = 400, body = avenue_shared::ErrorBody), (status = 403, body = avenue_shared::ErrorBody)), security(("bearer" = [])))]
async fn sign(
    State(state): State<AppState>,
    MediaManager(claims): MediaManager,
    JsonBody(request): JsonBody<SignRequest>,
) -> Result<Json<Value>, AppError> {
    admin_only(&claims)?;
    let transformation = request.transformation.trim().trim_matches('/');
    if transformation.is_empty() || transformation.len() > 1000 {
        return Err(AppError::bad_request(
            "invalid-transformation",
            "transformation: 1 to 1000 characters",
        ));
    }
    Transformation::parse(transformation.split('/'))
        .map_err(|err| AppError::bad_request("invalid-transformation", err.to_string()))?;
    let (id, ext) = request
        .file
        .rsplit_once('.')
        .ok_or_else(|| AppError::bad_request("invalid-path", "file: {id}.{ext}"))?;
    MediaId::parse(id).map_err(|err| AppError::bad_request("invalid-id", err.to_string()))?;
    ImageFormat::from_extension(&ext.to_ascii_lowercase())
        .ok_or_else(|| AppError::bad_request("invalid-path", "use jpg, png, webp, gif or avif"))?;
    let to_sign = format!("{transformation}/{}", request.file);
    let component = signature::component(&to_sign, state.delivery.signing_secret.expose());
    let path = format!("/image/upload/{component}/{to_sign}");
    Ok(Json(json!({ "path": path })))
}

/// The stored variants of a media.
#[utoipa::path(get, path = "/v1/media/{id}/variants", tag = "admin", responses((status = 200, description = "stored variants"), (status = 404, body = avenue_shared::ErrorBody)), security(("bearer" = [])))]
async fn variants(
    State(state): State<AppState>,
    _manager: MediaManager,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let id =
        MediaId::parse(&id).map_err(|err| AppError::bad_request("invalid-id", err.to_string()))?;
    state.library.get(&id).await?;
    let docs = state
        .library
        .repo()
        .variants_of(&id)
        .await
        .map_err(MediaError::from)?;
    Ok(Json(Value::Array(
        docs.iter()
            .map(|v| {
                json!({
                    "transformation": v.transformation,
                    "format": v.format,
                    "bytes": v.bytes,
                    "width": v.width,
                    "height": v.height,
                    "stored": if v.data.is_some() { "inline" } else { "store" },
                })
            })
            .collect(),
    )))
}
