//! Extractors whose refusals speak the error envelope: malformed JSON is
//! 400, JSON of the wrong shape 422 naming the path, a missing JSON
//! content type 415, a body over the limit 413, a bad query string 400.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRef, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use avenue_shared::auth::SIGNED_CLIENT_ADDRESS;
use avenue_shared::net::{TrustedProxies, FORWARDED_FOR};
use avenue_shared::JwtKeys;

use super::error::ApiError;
use crate::config::JsonBodyLimit;
use crate::media::urls::MediaUrls;

/// `Json<T>` with the envelope on refusal.
pub struct ApiJson<T>(pub T);

/// Refuses a body whose declared length is over `limit` before a byte of
/// it is read: the client is told at once, not after the body stalls.
///
/// # Errors
/// 413 `too-large`.
pub fn refuse_declared_over(headers: &axum::http::HeaderMap, limit: usize) -> Result<(), ApiError> {
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > limit as u64 => Err(ApiError::PayloadTooLarge(format!(
            "the request body is {length} bytes; at most {limit} are taken"
        ))),
        _ => Ok(()),
    }
}

/// Our own delivery URLs in media fields are read as the ids they name
/// first (see [`MediaUrls`]), so every handler taking ids takes them too.
impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
    MediaUrls: FromRef<S>,
    JsonBodyLimit: FromRef<S>,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        refuse_declared_over(req.headers(), JsonBodyLimit::from_ref(state).0)?;
        let axum::Json(mut body) = axum::Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(json_rejection)?;
        MediaUrls::from_ref(state).rewrite(&mut body)?;
        serde_path_to_error::deserialize(body)
            .map(Self)
            .map_err(|err| {
                let path = err.path().to_string();
                let field = if path == "." { "body".to_owned() } else { path };
                ApiError::invalid(field.clone(), format!("{field}: {}", err.inner()))
            })
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(err) => {
            // "Failed to deserialize the JSON body into the target type: lines[0].quantity: ..."
            let text = err.body_text();
            let detail = text
                .split_once(": ")
                .map_or(text.as_str(), |(_, rest)| rest)
                .to_owned();
            let field = detail
                .split_once(": ")
                .map(|(path, _)| path.to_owned())
                .filter(|path| !path.contains(' '))
                .unwrap_or_else(|| "body".to_owned());
            ApiError::invalid(field, detail)
        }
        JsonRejection::JsonSyntaxError(err) => {
            ApiError::bad_request("malformed-json", err.body_text())
        }
        JsonRejection::MissingJsonContentType(_) => {
            ApiError::UnsupportedMediaType("send JSON with Content-Type: application/json".into())
        }
        JsonRejection::BytesRejection(err) => {
            if err.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the request body is larger than allowed".into())
            } else {
                ApiError::bad_request("unreadable-body", err.body_text())
            }
        }
        other => ApiError::bad_request("unreadable-body", other.body_text()),
    }
}

/// `Query<T>` with the envelope on refusal.
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(err)) => {
                Err(ApiError::bad_request("invalid-query", err.body_text()))
            }
            Err(other) => Err(ApiError::bad_request("invalid-query", other.body_text())),
        }
    }
}

/// The client's address: the one media's sign-in page signed for the
/// browser it forwards (see `SIGNED_CLIENT_ADDRESS`); else the connection's
/// peer, or, when the peer is one of `TRUSTED_PROXIES`, the nearest
/// untrusted hop of `X-Forwarded-For`.
pub struct ClientAddress(pub IpAddr);

impl<S> FromRequestParts<S> for ClientAddress
where
    TrustedProxies: FromRef<S>,
    JwtKeys: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let signed = parts
            .headers
            .get(SIGNED_CLIENT_ADDRESS)
            .and_then(|v| v.to_str().ok())
            .and_then(|statement| JwtKeys::from_ref(state).verify_client_address(statement));
        if let Some(client) = signed {
            return Ok(Self(client));
        }
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip());
        let forwarded = parts
            .headers
            .get(FORWARDED_FOR)
            .and_then(|v| v.to_str().ok());
        Ok(Self(
            TrustedProxies::from_ref(state).client_address(peer, forwarded),
        ))
    }
}
