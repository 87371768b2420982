//! `/api/users`: the admin's view of accounts, their roles, and turning
//! an account off (and on again).

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::Json;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use mongodb::bson::oid::ObjectId;

use super::model::{CurrentUser, UserDoc, UserView};
use super::routes::parse_role;
use crate::db::DbError;
use crate::http::auth::Admin;
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::http::window::{next_page_header, Cursor, Window};
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users))
        .routes(routes!(set_role))
        .routes(routes!(deactivate))
        .routes(routes!(reactivate))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct UserQuery {
    role: Option<String>,
    /// Part of the e-mail or name, any case.
    q: Option<String>,
    /// Accounts created at or after this time (RFC 3339).
    since: Option<String>,
    /// Accounts created before this time (RFC 3339).
    until: Option<String>,
    /// The `x-next-cursor` of the previous page.
    before: Option<String>,
    /// At most 200; default 50.
    limit: Option<u32>,
}

/// Users, newest first, a page at a time (admin): a full page answers the
/// `x-next-cursor` header, to pass as `before` for the next.
#[utoipa::path(get, path = "/api/users", tag = "auth", params(UserQuery),
    responses((status = 200, body = [UserView],
            headers(("x-next-cursor" = String, description = "Present when more users follow: the next page's `before`."))),
        (status = 400, description = "a cursor this api did not give"),
        (status = 403, description = "not an admin")),
    security(("bearer" = [])))]
pub async fn list_users(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<UserQuery>,
) -> Result<(HeaderMap, Json<Vec<UserView>>), ApiError> {
    let role = query.role.as_deref().map(parse_role).transpose()?;
    let window = Window::parse(
        query.since.as_deref(),
        query.until.as_deref(),
        query.before.as_deref(),
        query.limit,
    )?;
    let search = query
        .q
        .as_deref()
        .map(str::trim)
        .filter(|q| !q.is_empty())
        .map(|q| q.chars().take(100).collect::<String>());
    let mut within = mongodb::bson::Document::new();
    window.narrow(&mut within, "created_at");
    let users = state
        .users
        .list(role.as_ref(), search.as_deref(), within, window.limit)
        .await?;
    let last = users.last().map(|u| Cursor::new(u.created_at, u.id));
    let headers = next_page_header(window.next(users.len(), last));
    Ok((headers, Json(users.iter().map(UserView::from).collect())))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleChange {
    role: String,
}

/// Changes a user's role (admin); audited.
#[utoipa::path(put, path = "/api/users/{id}/role", tag = "auth",
    request_body = RoleChange,
    responses((status = 200, body = UserView), (status = 404, description = "no such user")),
    security(("bearer" = [])))]
pub async fn set_role(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<RoleChange>,
) -> Result<Json<UserView>, ApiError> {
    let id = crate::db::resolve_id(&state.db, super::repo::USERS, &id, "user").await?;
    let role = parse_role(&request.role)?;
    audited(
        &state,
        &admin,
        id,
        "user.role",
        state.users.set_role(id, &role),
    )
    .await
}

/// Deactivates an account (admin); audited. Sign-in is refused (403
/// `account-deactivated`) and every session ends, so its access tokens
/// are refused at their next refresh. Nothing of the account is removed.
#[utoipa::path(post, path = "/api/users/{id}/deactivate", tag = "auth",
    responses((status = 200, body = UserView), (status = 404, description = "no such user"),
        (status = 409, description = "an admin deactivating their own account")),
    security(("bearer" = [])))]
pub async fn deactivate(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let id = crate::db::resolve_id(&state.db, super::repo::USERS, &id, "user").await?;
    if id == admin.id {
        return Err(ApiError::conflict(
            "own-account",
            "an admin cannot deactivate their own account",
        ));
    }
    set_active(&state, &admin, id, false).await
}

/// Makes a deactivated account usable again (admin); audited.
#[utoipa::path(post, path = "/api/users/{id}/reactivate", tag = "auth",
    responses((status = 200, body = UserView), (status = 404, description = "no such user")),
    security(("bearer" = [])))]
pub async fn reactivate(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<Json<UserView>, ApiError> {
    let id = crate::db::resolve_id(&state.db, super::repo::USERS, &id, "user").await?;
    set_active(&state, &admin, id, true).await
}

async fn set_active(
    state: &AppState,
    admin: &CurrentUser,
    id: ObjectId,
    active: bool,
) -> Result<Json<UserView>, ApiError> {
    let action = if active {
        "user.reactivate"
    } else {
        "user.deactivate"
    };
    audited(state, admin, id, action, state.users.set_active(id, active)).await
}

/// Runs `write` (a change to user `id` answering the account after it)
/// and records it in the audit log with the account before.
async fn audited(
    state: &AppState,
    admin: &CurrentUser,
    id: ObjectId,
    action: &str,
    write: impl std::future::Future<Output = Result<Option<UserDoc>, DbError>>,
) -> Result<Json<UserView>, ApiError> {
    let before = state
        .users
        .by_id(id)
        .await?
        .ok_or(ApiError::NotFound("user"))?;
    if before.erased_at.is_some() {
        return Err(erased());
    }
    // `None` here: erased between the read and the write (writes skip
    // tombstones).
    let after = write.await?.ok_or_else(erased)?;
    let (before, after) = (UserView::from(&before), UserView::from(&after));
    state
        .audit
        .record(
            admin,
            action,
            "users",
            &id.to_hex(),
            Some(&before),
            Some(&after),
        )
        .await;
    Ok(Json(after))
}

fn erased() -> ApiError {
    ApiError::conflict(
        "erased",
        "this account was erased; nothing of it can change",
    )
}
