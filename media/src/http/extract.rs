//! Extractors whose rejections are the JSON error envelope instead of axum's
//! plain-text defaults.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::AppError;

/// `axum::Json` with JSON errors: 400 for syntax, 422 for wrong shapes,
/// 415 without a JSON content type, 413 over the body limit.
pub struct JsonBody<T>(pub T);

impl<S, T> FromRequest<S> for JsonBody<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> AppError {
    let code = match &rejection {
        JsonRejection::JsonDataError(_) => "invalid-json-shape",
        JsonRejection::JsonSyntaxError(_) => "malformed-json",
        JsonRejection::MissingJsonContentType(_) => "expected-json",
        JsonRejection::BytesRejection(_) => "unreadable-body",
        _ => "invalid-body",
    };
    let status = rejection.status();
    let code = if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        "too-large"
    } else {
        code
    };
    AppError::Rejected {
        status,
        code,
        message: rejection.body_text(),
    }
}

/// `axum::extract::Query` with a JSON 400 on malformed query strings.
pub struct QueryParams<T>(pub T);

impl<S, T> FromRequestParts<S> for QueryParams<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> AppError {
    AppError::bad_request("invalid-query", rejection.body_text())
}
