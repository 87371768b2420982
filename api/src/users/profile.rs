//! A user edits their own profile: the name at once; a new e-mail only once
//! its owner proves it. The change waits in `email_changes` (the token only
//! as its SHA-256, working once, expiring like a reset link) and the link
//! goes to the new address; confirming sets the address, unless another
//! account took it meanwhile (409), and ends every session, as the sign-in
//! name changed. The old address is told.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Html;
use axum::{Form, Json, Router};
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::http::auth::CurrentUser;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::indexes::IndexSpec;
use crate::state::AppState;
use crate::system::email::{NewEmail, Template, WITHHELD};
use crate::users::link_token;
use crate::users::model::{parse_name, Email, UserView, USERS};

pub const EMAIL_CHANGES: &str = "email_changes";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(edit))
        .routes(routes!(confirm))
}

/// The page the e-mail links to: a button, so a link scanner fetching the
/// page changes nothing.
pub fn page_router() -> Router<AppState> {
    Router::new().route("/confirm-email", axum::routing::get(page).post(page_submit))
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::expiring(EMAIL_CHANGES, "expires_at", "expires_at_ttl"),
        IndexSpec::unique_where(EMAIL_CHANGES, doc! { "token_hash": 1 }, "string"),
    ]
}

#[derive(Debug, Serialize, Deserialize)]
struct ChangeDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    user_id: ObjectId,
    new_email: String,
    token_hash: String,
    expires_at: DateTime,
}

fn changes(db: &Database) -> Collection<ChangeDoc> {
    db.collection(EMAIL_CHANGES)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileEdit {
    name: Option<String>,
    /// Changes once confirmed from the link sent to it.
    email: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProfileView {
    user: UserView,
    /// The address waiting for its owner's confirmation, if one was asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pending_email: Option<String>,
}

/// Edits the caller's profile: `name` at once; `email` is confirmed by
/// its owner from a link sent to it before it replaces the current one.
#[utoipa::path(patch, path = "/api/auth/me", tag = "auth", request_body = ProfileEdit,
    responses((status = 200, body = ProfileView), (status = 409, description = "`email-taken`"),
        (status = 422, description = "a bad name or address")),
    security(("bearer" = [])))]
pub async fn edit(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<ProfileEdit>,
) -> Result<Json<ProfileView>, ApiError> {
    let name = request
        .name
        .as_deref()
        .map(|n| parse_name(n, "name"))
        .transpose()?;
    let email = request
        .email
        .as_deref()
        .map(|e| Email::parse_deliverable(e, "email"))
        .transpose()?;
    let mut current = state
        .users
        .by_id(user.id)
        .await?
        .filter(|u| u.erased_at.is_none())
        .ok_or_else(|| ApiError::Unauthenticated("the account no longer exists".into()))?;
    if let Some(name) = name {
        state
            .db
            .collection::<mongodb::bson::Document>(USERS)
            .update_one(
                doc! { "_id": user.id, "erased_at": { "$exists": false } },
                doc! { "$set": { "name": &name, "updated_at": DateTime::now() } },
            )
            .await?;
        current.name = name;
    }
    let mut pending_email = None;
    if let Some(email) = email.filter(|e| e.as_str() != current.email) {
        if state.users.by_email(&email).await?.is_some() {
            return Err(ApiError::conflict(
                "email-taken",
                "an account with this email exists",
            ));
        }
        send_link(&state, &current.name, user.id, &email).await?;
        pending_email = Some(email.as_str().to_owned());
    }
    Ok(Json(ProfileView {
        user: UserView::from(&current),
        pending_email,
    }))
}

async fn send_link(
    state: &AppState,
    name: &str,
    user: ObjectId,
    email: &Email,
) -> Result<(), ApiError> {
    // The token that works is minted when the message is sent (see the
    // outbox); until then the stored hash is of one nobody ever sees.
    let placeholder = link_token::mint();
    let id = ObjectId::new();
    let ttl = state.config.auth.reset_ttl;
    let now = DateTime::now();
    // One change waits at a time: asking again replaces it.
    changes(&state.db)
        .delete_many(doc! { "user_id": user })
        .await?;
    changes(&state.db)
        .insert_one(ChangeDoc {
            id,
            user_id: user,
            new_email: email.as_str().to_owned(),
            token_hash: link_token::hash(&placeholder),
            expires_at: DateTime::from_millis(
                now.timestamp_millis()
                    .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)),
            ),
        })
        .await?;
    let link = state
        .config
        .public_link("/confirm-email", WITHHELD)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("no API_PUBLIC_URL to link to")))?;
    state
        .outbox
        .enqueue(NewEmail::new(
            Template::EmailChange,
            email.as_str().to_owned(),
            "Avenue: confirm your new e-mail address",
            format!("{USERS}:{}", user.to_hex()),
            &serde_json::json!({ "name": name, "link": link.as_str(), "minutes": ttl.as_secs().div_ceil(60) }),
        )
        .with_link(EMAIL_CHANGES, id))
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EmailConfirm {
    token: String,
}

/// Confirms a new e-mail address from its link: the address changes and
/// every session ends (sign in with the new address).
#[utoipa::path(post, path = "/api/auth/email/confirm", tag = "auth", request_body = EmailConfirm,
    responses((status = 200, body = UserView),
        (status = 400, description = "`email-link-invalid`: unknown, used or expired"),
        (status = 409, description = "`email-taken`: another account took the address meanwhile")))]
pub async fn confirm(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<EmailConfirm>,
) -> Result<Json<UserView>, ApiError> {
    Ok(Json(apply(&state, &request.token).await?))
}

async fn apply(state: &AppState, token: &str) -> Result<UserView, ApiError> {
    let change = changes(&state.db)
        .find_one_and_delete(
            doc! { "token_hash": link_token::hash(token.trim()), "expires_at": { "$gt": DateTime::now() } },
        )
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(
                "email-link-invalid",
                "the link is unknown, already used or expired; ask for the change again",
            )
        })?;
    let before = state
        .users
        .by_id(change.user_id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    let after = state
        .users
        .set_email(change.user_id, &change.new_email)
        .await?;
    let told = state
        .outbox
        .enqueue(NewEmail::new(
            Template::EmailChanged,
            before.email.clone(),
            "Avenue: your e-mail address changed",
            format!("{USERS}:{}", before.id.to_hex()),
            &serde_json::json!({ "name": before.name, "new_email": change.new_email }),
        ))
        .await;
    if let Err(err) = told {
        tracing::error!(error = %err, "e-mail change notice not queued");
    }
    Ok(UserView::from(&after))
}

#[derive(Debug, Deserialize)]
struct PageQuery {
    #[serde(default)]
    token: String,
}

fn shell(body: &str) -> String {
    link_token::page("confirm your e-mail", body)
}

async fn page(Query(query): Query<PageQuery>) -> (StatusCode, Html<String>) {
    match link_token::parse(&query.token) {
        Some(token) => (
            StatusCode::OK,
            Html(shell(&format!(
                "<form method=\"post\" action=\"/confirm-email\"><input type=\"hidden\" name=\"token\" value=\"{token}\">\
                 <button type=\"submit\">Use this address for my Avenue account</button></form>"
            ))),
        ),
        None => (StatusCode::BAD_REQUEST, Html(shell("<p>This link is not valid.</p>"))),
    }
}

async fn page_submit(
    State(state): State<AppState>,
    Form(form): Form<EmailConfirm>,
) -> (StatusCode, Html<String>) {
    match apply(&state, &form.token).await {
        Ok(_) => (
            StatusCode::OK,
            Html(shell(
                "<p>Your e-mail address is changed. Sign in with it.</p>",
            )),
        ),
        Err(err) => {
            let (status, message) = match &err {
                ApiError::Conflict { .. } => (
                    StatusCode::CONFLICT,
                    "Another account uses this address now.",
                ),
                ApiError::BadRequest { .. } => (
                    StatusCode::BAD_REQUEST,
                    "This link is unknown, already used or expired.",
                ),
                _ => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Something went wrong on our side; try again.",
                ),
            };
            if status == StatusCode::SERVICE_UNAVAILABLE {
                tracing::error!(error = ?err, "e-mail change failed");
            }
            (status, Html(shell(&format!("<p>{message}</p>"))))
        }
    }
}
