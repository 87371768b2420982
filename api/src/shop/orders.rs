//! `orders`: carts priced on the server, coupons applied, stock taken in
//! the same transaction as the order (so two buyers cannot both get the
//! last item), a confirmation email queued in it too, and the status
//! machine pending -> paid -> shipped -> delivered, with cancellation
//! (from pending or paid) giving the stock and the coupon use back. An
//! order nobody pays is cancelled when its `expires_at` passes (setting
//! `shop.unpaid_order_minutes`), so a cart cannot hold stock for ever.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use futures::FutureExt;
use mongodb::bson::{doc, oid::ObjectId, DateTime, Document};
use mongodb::Database;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::catalog::{self, ProductStatus};
use super::coupons;
use super::money::{Money, CURRENCY};
use super::order_docs::{
    collection, OrderDoc, OrderLine, OrderStatus, OrderView, Shipping, StatusChange, ORDERS,
};
use super::transitions::{change_status, regroup_models, Actor};
use crate::db::{transaction, TxError};
use crate::fields;
use crate::http::auth::{Admin, CurrentUser};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::state::AppState;
use crate::system::email::{NewEmail, Template};
use crate::system::settings::Values;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, place))
        .routes(routes!(show))
        .routes(routes!(set_status))
        .routes(routes!(cancel))
}

const MAX_LINES: usize = 50;
const MAX_QUANTITY: i64 = 100;

/// A cart line; the price is the server's, never the client's.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CartLine {
    product_id: String,
    quantity: i64,
    size: Option<String>,
    color: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrder {
    lines: Vec<CartLine>,
    coupon: Option<String>,
    shipping: Option<Shipping>,
}

/// A cart line that passed its checks.
#[derive(Debug, Clone)]
struct Wanted {
    field: String,
    product_id: ObjectId,
    quantity: i64,
    size: Option<String>,
    color: Option<String>,
}

fn parse_cart(order: &NewOrder) -> Result<Vec<Wanted>, ApiError> {
    if order.lines.is_empty() {
        return Err(ApiError::invalid("lines", "an order has at least one line"));
    }
    if order.lines.len() > MAX_LINES {
        return Err(ApiError::invalid(
            "lines",
            format!("at most {MAX_LINES} lines"),
        ));
    }
    let mut out: Vec<Wanted> = Vec::new();
    for (i, line) in order.lines.iter().enumerate() {
        let field = format!("lines[{i}]");
        let product_id = ObjectId::parse_str(&line.product_id)
            .map_err(|_| ApiError::invalid(format!("{field}.product_id"), "not a product id"))?;
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(ApiError::invalid(
                format!("{field}.quantity"),
                format!("a quantity is 1 to {MAX_QUANTITY}"),
            ));
        }
        match out
            .iter_mut()
            .find(|w| w.product_id == product_id && w.size == line.size && w.color == line.color)
        {
            // The cap is on what one line asks for once lines of the same
            // product are merged: 50 lines of 100 are one line of 5,000.
            Some(same) if same.quantity + line.quantity > MAX_QUANTITY => {
                return Err(ApiError::invalid(
                    format!("{field}.quantity"),
                    format!(
                        "at most {MAX_QUANTITY} of one product, size and colour in an order (with {})",
                        same.field
                    ),
                ));
            }
            Some(same) => same.quantity += line.quantity,
            None => out.push(Wanted {
                field,
                product_id,
                quantity: line.quantity,
                size: line.size.clone(),
                color: line.color.clone(),
            }),
        }
    }
    Ok(out)
}

fn check_variant(
    options: &[String],
    chosen: Option<&String>,
    field: String,
    what: &str,
) -> Result<(), ApiError> {
    match chosen {
        None if options.is_empty() => Ok(()),
        None => Err(ApiError::invalid(
            field,
            format!("choose a {what}: {}", options.join(", ")),
        )),
        Some(c) if options.contains(c) => Ok(()),
        Some(c) => Err(ApiError::invalid(
            field,
            format!("'{c}' is not a {what} of this product"),
        )),
    }
}

/// What delivery costs, from the shop's settings.
#[derive(Debug, Clone, Copy)]
struct Delivery {
    cost: i64,
    free_from: i64,
}

impl Delivery {
    /// Nothing to pick up (no address) or goods at the free threshold:
    /// free; else the flat cost.
    fn cost_for(self, goods: Money, has_address: bool) -> Money {
        if !has_address || goods.amount() >= self.free_from {
            Money::default()
        } else {
            Money::from_stored(self.cost)
        }
    }
}

fn confirmation(order: &OrderDoc, to: &str, name: &str) -> NewEmail {
    let short = &order.id.to_hex()[16..];
    let money = |amount: i64| Money::from_stored(amount).display();
    let lines: Vec<serde_json::Value> = order
        .lines
        .iter()
        .map(|line| {
            serde_json::json!({
                "quantity": line.quantity,
                "name": line.name,
                "size": line.size,
                "color": line.color,
                "total": money(line.line_total),
            })
        })
        .collect();
    let values = serde_json::json!({
        "name": name,
        "number": short,
        "lines": lines,
        "discount": (order.discount > 0).then(|| money(order.discount)),
        "shipping": (order.shipping_cost > 0).then(|| money(order.shipping_cost)),
        "coupon": order.coupon_code.as_deref().unwrap_or(""),
        "total": money(order.total),
    });
    NewEmail::new(
        Template::OrderConfirmation,
        to,
        format!("Avenue: order {short} received"),
        format!("{ORDERS}:{}", order.id.to_hex()),
        &values,
    )
}

/// Places an order: every line priced from the catalogue, stock taken and
/// the coupon used in one transaction with the order itself.
#[utoipa::path(post, path = "/api/shop/orders", tag = "shop", request_body = NewOrder,
    responses((status = 201, body = OrderView),
        (status = 409, description = "out of stock"),
        (status = 422, description = "invalid line or coupon")),
    security(("bearer" = [])))]
pub async fn place(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiJson(request): ApiJson<NewOrder>,
) -> Result<(StatusCode, Json<OrderView>), ApiError> {
    let cart = parse_cart(&request)?;
    let settings = Values::load(&state.db).await?;
    if !settings.flag("shop.orders_enabled") {
        return Err(ApiError::conflict(
            "orders-closed",
            "the shop is not taking orders right now",
        ));
    }
    let hold = settings.int("shop.unpaid_order_minutes").max(1);
    let delivery = Delivery {
        cost: settings.int("shop.shipping_cost").max(0),
        free_from: settings.int("shop.free_shipping_min").max(0),
    };
    let shipping = request
        .shipping
        .as_ref()
        .map(|s| {
            Ok::<_, ApiError>(Shipping {
                name: fields::text(&s.name, "shipping.name", 100)?,
                address: fields::text(&s.address, "shipping.address", 300)?,
                phone: fields::text(&s.phone, "shipping.phone", 40)?,
            })
        })
        .transpose()?;
    let buyer = state
        .users
        .by_id(user.id)
        .await?
        .ok_or_else(|| ApiError::Unauthenticated("the account no longer exists".into()))?;
    let db = state.db.clone();
    let outbox = state.outbox.clone();
    let coupon = request.coupon.clone().filter(|c| !c.trim().is_empty());
    let order = transaction(&state.db, |session| {
        let (db, outbox, cart, coupon, shipping) =
            (db.clone(), outbox.clone(), cart.clone(), coupon.clone(), shipping.clone());
        let (user_id, email, name) = (user.id, buyer.email.clone(), buyer.name.clone());
        async move {
            let products = catalog::collection(&db);
            let mut lines = Vec::with_capacity(cart.len());
            let mut subtotal = Money::default();
            for want in &cart {
                let product = products
                    .find_one(doc! { "_id": want.product_id })
                    .session(&mut *session)
                    .await?
                    .filter(|p| p.status == ProductStatus::Published)
                    .ok_or_else(|| {
                        ApiError::invalid(format!("{}.product_id", want.field), "no such product for sale")
                    })?;
                check_variant(&product.sizes, want.size.as_ref(), format!("{}.size", want.field), "size")?;
                check_variant(&product.colors, want.color.as_ref(), format!("{}.color", want.field), "colour")?;
                let taken = products
                    .update_one(
                        doc! { "_id": product.id, "stock": { "$gte": want.quantity } },
                        doc! { "$inc": { "stock": -want.quantity }, "$set": { "updated_at": DateTime::now() } },
                    )
                    .session(&mut *session)
                    .await?;
                if taken.matched_count == 0 {
                    return Err(TxError::Abort(ApiError::conflict(
                        "out-of-stock",
                        format!("{}: only {} of '{}' left", want.field, product.stock.max(0), product.name),
                    )));
                }
                let unit = Money::from_stored(product.price);
                let line_total = unit.times(want.quantity);
                subtotal = subtotal.plus(line_total);
                lines.push(OrderLine {
                    product_id: product.id,
                    name: product.name,
                    sku: product.sku,
                    size: want.size.clone(),
                    color: want.color.clone(),
                    unit_price: unit.amount(),
                    quantity: want.quantity,
                    line_total: line_total.amount(),
                });
            }
            let (coupon_code, discount) = match &coupon {
                Some(code) => {
                    let (code, discount) =
                        coupons::redeem(&db, session, code, &user_id, subtotal).await?;
                    (Some(code), discount)
                }
                None => (None, Money::default()),
            };
            let now = DateTime::now();
            let goods = subtotal.minus(discount);
            let shipping_cost = delivery.cost_for(goods, shipping.is_some());
            let order = OrderDoc {
                id: ObjectId::new(),
                user_id,
                lines,
                subtotal: subtotal.amount(),
                discount: discount.amount(),
                shipping_cost: shipping_cost.amount(),
                total: goods.plus(shipping_cost).amount(),
                currency: CURRENCY.to_owned(),
                coupon_code,
                status: OrderStatus::Pending,
                history: vec![StatusChange {
                    status: OrderStatus::Pending,
                    at: now,
                    by: Some(user_id),
                    reason: None,
                }],
                shipping,
                expires_at: Some(DateTime::from_millis(
                    now.timestamp_millis().saturating_add(hold.saturating_mul(60_000)),
                )),
                created_at: now,
                updated_at: now,
            };
            collection(&db).insert_one(&order).session(&mut *session).await?;
            outbox.enqueue_in(session, confirmation(&order, &email, &name)).await?;
            Ok(order)
        }
        .boxed()
    })
    .await?;
    regroup_models(&state.db, &order).await;
    Ok((StatusCode::CREATED, Json(OrderView::from(&order))))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct OrderQuery {
    status: Option<OrderStatus>,
    /// Admins only.
    user_id: Option<String>,
    page: Option<u32>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderPage {
    items: Vec<OrderView>,
    total: u64,
}

/// Customers see their own orders; admins see all.
#[utoipa::path(get, path = "/api/shop/orders", tag = "shop", params(OrderQuery),
    responses((status = 200, body = OrderPage)), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    user: CurrentUser,
    ApiQuery(query): ApiQuery<OrderQuery>,
) -> Result<Json<OrderPage>, ApiError> {
    let mut filter = Document::new();
    if user.is_admin() {
        if let Some(id) = &query.user_id {
            filter.insert(
                "user_id",
                crate::db::resolve_id(&state.db, crate::users::repo::USERS, id, "user").await?,
            );
        }
    } else {
        filter.insert("user_id", user.id);
    }
    if let Some(status) = query.status {
        filter.insert("status", status.as_str());
    }
    let orders = collection(&state.db);
    let total = orders.count_documents(filter.clone()).await?;
    let docs: Vec<OrderDoc> = crate::db::find_page(
        &orders,
        filter,
        doc! { "created_at": -1, "_id": -1 },
        crate::db::Page::of(query.page, query.limit),
    )
    .await?;
    Ok(Json(OrderPage {
        items: docs.iter().map(OrderView::from).collect(),
        total,
    }))
}

/// One order; someone else's answers 404, as if it did not exist.
#[utoipa::path(get, path = "/api/shop/orders/{id}", tag = "shop",
    responses((status = 200, body = OrderView), (status = 404, description = "no such order of yours")),
    security(("bearer" = [])))]
pub async fn show(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let order = find_visible(&state.db, &user, &id).await?;
    Ok(Json(OrderView::from(&order)))
}

async fn find_visible(db: &Database, user: &CurrentUser, id: &str) -> Result<OrderDoc, ApiError> {
    let id = crate::db::resolve_id(db, ORDERS, id, "order").await?;
    collection(db)
        .find_one(doc! { "_id": id })
        .await?
        .filter(|o| user.is_admin() || o.user_id == user.id)
        .ok_or(ApiError::NotFound("order"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    status: OrderStatus,
}

/// Moves an order along (admin): pending -> paid -> shipped -> delivered,
/// or cancelled from pending or paid.
#[utoipa::path(post, path = "/api/shop/orders/{id}/status", tag = "shop", request_body = StatusRequest,
    responses((status = 200, body = OrderView), (status = 409, description = "not a valid transition")),
    security(("bearer" = [])))]
pub async fn set_status(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(request): ApiJson<StatusRequest>,
) -> Result<Json<OrderView>, ApiError> {
    let before = find_visible(&state.db, &admin, &id).await?;
    let after = change_status(&state.db, &before, request.status, Actor::User(admin.id)).await?;
    Ok(changed(&state, &admin, "order.status", true, &before, &after).await)
}

/// After a status change: audits it when `audited`, regroups the models
/// whose stock moved, and answers the order as it is now.
async fn changed(
    state: &AppState,
    actor: &CurrentUser,
    action: &str,
    audited: bool,
    before: &OrderDoc,
    after: &OrderDoc,
) -> Json<OrderView> {
    if audited {
        state
            .audit
            .record(
                actor,
                action,
                ORDERS,
                &before.id.to_hex(),
                Some(&OrderView::from(before)),
                Some(&OrderView::from(after)),
            )
            .await;
    }
    regroup_models(&state.db, after).await;
    Json(OrderView::from(after))
}

/// Cancels one's own pending order; the stock and coupon use come back.
#[utoipa::path(post, path = "/api/shop/orders/{id}/cancel", tag = "shop",
    responses((status = 200, body = OrderView), (status = 409, description = "no longer cancellable")),
    security(("bearer" = [])))]
pub async fn cancel(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let before = find_visible(&state.db, &user, &id).await?;
    if !user.is_admin() && before.status != OrderStatus::Pending {
        return Err(ApiError::conflict(
            "invalid-transition",
            "only pending orders can be cancelled here; contact the shop",
        ));
    }
    let after = change_status(
        &state.db,
        &before,
        OrderStatus::Cancelled,
        Actor::User(user.id),
    )
    .await?;
    let audited = user.is_admin() && before.user_id != user.id;
    Ok(changed(&state, &user, "order.cancel", audited, &before, &after).await)
}
