//! Password reset by email. A request answers the same whether or not the
//! address has an account (and is rate limited the same way); the work of
//! finding the account and queueing the email happens after the answer, so
//! timing tells nothing either. The emailed token is 256 random bits, stored
//! only as its SHA-256 in `password_resets`, works once and expires. Setting
//! the new password ends every session of the account.

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

use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ClientAddress};
use crate::indexes::IndexSpec;
use crate::state::AppState;
use crate::system::email::{NewEmail, Template, WITHHELD};
use crate::users::limiter::{Client, Reservation};
use crate::users::link_token;
use crate::users::model::{Email, NewPassword, UserDoc, USERS};

pub const PASSWORD_RESETS: &str = "password_resets";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(request_reset))
        .routes(routes!(confirm_reset))
}

/// The page the email links to when no front-end page is configured.
pub fn page_router() -> Router<AppState> {
    Router::new().route(
        "/reset-password",
        axum::routing::get(page).post(page_submit),
    )
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::expiring(PASSWORD_RESETS, "expires_at", "expires_at_ttl"),
        IndexSpec::unique_where(PASSWORD_RESETS, doc! { "token_hash": 1 }, "string"),
        IndexSpec::plain(PASSWORD_RESETS, doc! { "user_id": 1 }),
    ]
}

#[derive(Debug, Serialize, Deserialize)]
struct ResetDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    user_id: ObjectId,
    token_hash: String,
    created_at: DateTime,
    expires_at: DateTime,
    #[serde(default)]
    used_at: Option<DateTime>,
}

fn resets(db: &Database) -> Collection<ResetDoc> {
    db.collection(PASSWORD_RESETS)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetRequest {
    email: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResetRequested {
    message: &'static str,
}

/// Emails a reset link if the address has an account. The answer is the
/// same either way; too many requests for one address or from one client
/// get 429, also either way.
#[utoipa::path(post, path = "/api/auth/password-reset", tag = "auth",
    request_body = ResetRequest,
    responses((status = 202, body = ResetRequested),
        (status = 429, description = "too many requests; see Retry-After")))]
pub async fn request_reset(
    State(state): State<AppState>,
    ClientAddress(client): ClientAddress,
    ApiJson(request): ApiJson<ResetRequest>,
) -> Result<(StatusCode, Json<ResetRequested>), ApiError> {
    let account = request.email.trim().to_lowercase();
    if let Reservation::Blocked { retry_after_secs } = state
        .reset_limiter
        .reserve(
            &account,
            Client::Unknown {
                address: &client.to_string(),
            },
        )
        .await?
    {
        return Err(ApiError::RateLimited { retry_after_secs });
    }
    if let Ok(email) = Email::parse(&request.email, "email") {
        tokio::spawn(async move {
            if let Err(err) = send_link(&state, &email).await {
                tracing::error!(error = %err, "password-reset email not queued");
            }
        });
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(ResetRequested {
            message: "if the address has an account, a link to reset its password is on its way",
        }),
    ))
}

async fn send_link(state: &AppState, email: &Email) -> anyhow::Result<()> {
    let user = match state.users.by_email(email).await {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(()),
        Err(crate::db::DbError::Legacy(problem)) => {
            tracing::warn!(%problem, "password reset for an account that cannot be read");
            return Ok(());
        }
        Err(err) => return Err(err.into()),
    };
    // The token that works is minted when the message is sent (see the
    // outbox); until then the stored hash is of one nobody ever sees.
    let placeholder = link_token::mint();
    let ttl = state.config.auth.reset_ttl;
    let now = DateTime::now();
    let id = ObjectId::new();
    resets(&state.db)
        .insert_one(ResetDoc {
            id,
            user_id: user.id,
            token_hash: link_token::hash(&placeholder),
            created_at: now,
            expires_at: DateTime::from_millis(
                now.timestamp_millis()
                    .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2)),
            ),
            used_at: None,
        })
        .await?;
    let link = state
        .config
        .password_reset_link(WITHHELD)
        .ok_or_else(|| anyhow::anyhow!("no API_PUBLIC_URL or PASSWORD_RESET_URL to link to"))?;
    let values = serde_json::json!({
        "name": user.name,
        "link": link.as_str(),
        "minutes": ttl.as_secs().div_ceil(60),
    });
    state
        .outbox
        .enqueue(
            NewEmail::new(
                Template::PasswordReset,
                user.email.clone(),
                "Avenue: reset your password",
                format!("{USERS}:{}", user.id.to_hex()),
                &values,
            )
            .with_link(PASSWORD_RESETS, id),
        )
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResetConfirm {
    token: String,
    password: String,
}

/// Why a reset did not happen.
enum Refusal {
    Link,
    Password(ApiError),
    Failed(ApiError),
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Link => ApiError::bad_request(
                "reset-link-invalid",
                "the reset link is unknown, already used or expired; ask for a new one",
            ),
            Refusal::Password(err) | Refusal::Failed(err) => err,
        }
    }
}

/// Sets the new password: the token is checked and spent in one write,
/// and every session of the account ends.
async fn reset(state: &AppState, token: &str, password: String) -> Result<UserDoc, Refusal> {
    let password =
        NewPassword::parse(password, "password").map_err(|err| Refusal::Password(err.into()))?;
    let token = link_token::parse(token).ok_or(Refusal::Link)?;
    // Hashing costs tens of milliseconds of a core; a guessed token must
    // not buy that. The spend below is still conditional, so a link used
    // between this look and the write is refused there.
    if !link_is_live(state, token).await.map_err(Refusal::Failed)? {
        return Err(Refusal::Link);
    }
    let new_hash = state
        .hasher
        .hash(password.expose())
        .await
        .map_err(|err| Refusal::Failed(err.into()))?;
    let failed = |err: mongodb::error::Error| Refusal::Failed(crate::db::DbError::from(err).into());
    let spent = resets(&state.db)
        .find_one_and_update(
            doc! {
                "token_hash": link_token::hash(token),
                "used_at": null,
                "expires_at": { "$gt": DateTime::now() },
            },
            doc! { "$set": { "used_at": DateTime::now() } },
        )
        .await
        .map_err(failed)?
        .ok_or(Refusal::Link)?;
    let user = state
        .users
        .by_id(spent.user_id)
        .await
        .map_err(|err| Refusal::Failed(err.into()))?
        .ok_or(Refusal::Link)?;
    state
        .users
        .set_password(user.id, &new_hash)
        .await
        .map_err(|err| Refusal::Failed(err.into()))?;
    // Any other link sent to this account stops working too.
    resets(&state.db)
        .delete_many(doc! { "user_id": user.id, "_id": { "$ne": spent.id } })
        .await
        .map_err(failed)?;
    tracing::info!(user = %user.id, "password reset; sessions ended");
    Ok(user)
}

/// Sets a new password with the token from the email; every session of
/// the account ends.
#[utoipa::path(post, path = "/api/auth/password-reset/confirm", tag = "auth",
    request_body = ResetConfirm,
    responses((status = 204),
        (status = 400, description = "`reset-link-invalid`: unknown, used or expired token"),
        (status = 422, description = "the new password breaks the rules")))]
pub async fn confirm_reset(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<ResetConfirm>,
) -> Result<StatusCode, ApiError> {
    reset(&state, &request.token, request.password).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    token: String,
}

async fn link_is_live(state: &AppState, token: &str) -> Result<bool, ApiError> {
    Ok(resets(&state.db)
        .find_one(doc! {
            "token_hash": link_token::hash(token),
            "used_at": null,
            "expires_at": { "$gt": DateTime::now() },
        })
        .await
        .map_err(crate::db::DbError::from)?
        .is_some())
}

/// The form the email links to.
async fn page(
    State(state): State<AppState>,
    Query(query): Query<PageQuery>,
) -> Result<(StatusCode, Html<String>), ApiError> {
    match link_token::parse(&query.token) {
        Some(token) if link_is_live(&state, token).await? => {
            Ok((StatusCode::OK, Html(form_page(token, None))))
        }
        _ => Ok((StatusCode::BAD_REQUEST, Html(message_page(LINK_DEAD)))),
    }
}

async fn page_submit(
    State(state): State<AppState>,
    Form(form): Form<ResetConfirm>,
) -> (StatusCode, Html<String>) {
    match reset(&state, &form.token, form.password).await {
        Ok(_) => (
            StatusCode::OK,
            Html(message_page(
                "Your password is changed. Sign in with it; every other session has ended.",
            )),
        ),
        Err(Refusal::Link) => (StatusCode::BAD_REQUEST, Html(message_page(LINK_DEAD))),
        Err(Refusal::Password(_)) => match link_token::parse(&form.token) {
            Some(token) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                Html(form_page(
                    token,
                    Some("A password has 8 to 128 characters."),
                )),
            ),
            None => (StatusCode::BAD_REQUEST, Html(message_page(LINK_DEAD))),
        },
        Err(Refusal::Failed(err)) => {
            tracing::error!(error = ?err, "password reset failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Html(message_page(
                    "Something went wrong on our side. Your password is unchanged; try again.",
                )),
            )
        }
    }
}

const LINK_DEAD: &str =
    "This link is unknown, already used or expired. Ask for a new one from the sign-in page.";

fn shell(body: &str) -> String {
    link_token::page("reset your password", body)
}

/// `token` went through [`parse_token`]: only URL-safe base64 characters.
fn form_page(token: &str, problem: Option<&str>) -> String {
    let problem = problem
        .map(|p| format!("<p role=\"alert\" style=\"color: #a00\">{p}</p>"))
        .unwrap_or_default();
    shell(&format!(
        "{problem}<form method=\"post\" action=\"/reset-password\">\
         <input type=\"hidden\" name=\"token\" value=\"{token}\">\
         <label>New password <input type=\"password\" name=\"password\" minlength=\"8\" \
         maxlength=\"128\" autocomplete=\"new-password\" required></label> \
         <button type=\"submit\">Set password</button></form>"
    ))
}

fn message_page(message: &str) -> String {
    shell(&format!("<p>{message}</p>"))
}
