//! `orders` as stored and shown: the document, its lines, statuses and
//! history, its indexes and its view.

use crate::indexes::IndexSpec;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::money::Money;
use crate::http::plain::rfc3339;

pub const ORDERS: &str = "orders";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Paid,
    Shipped,
    Delivered,
    Cancelled,
}

impl OrderStatus {
    pub fn may_become(self, next: Self) -> bool {
        use OrderStatus::{Cancelled, Delivered, Paid, Pending, Shipped};
        matches!(
            (self, next),
            (Pending, Paid)
                | (Pending, Cancelled)
                | (Paid, Shipped)
                | (Paid, Cancelled)
                | (Shipped, Delivered)
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Paid => "paid",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderLine {
    pub product_id: ObjectId,
    pub name: String,
    pub sku: String,
    pub size: Option<String>,
    pub color: Option<String>,
    /// Integer PYG, as priced when ordered.
    pub unit_price: i64,
    pub quantity: i64,
    pub line_total: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: OrderStatus,
    pub at: DateTime,
    /// Who made the change; absent when the system did (an unpaid order expiring).
    #[serde(default)]
    pub by: Option<ObjectId>,
    /// Why, when the system made the change (`payment-timeout`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Shipping {
    pub name: String,
    pub address: String,
    pub phone: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub user_id: ObjectId,
    pub lines: Vec<OrderLine>,
    pub subtotal: i64,
    pub discount: i64,
    /// Charged for delivery; absent on orders written before it existed.
    #[serde(default)]
    pub shipping_cost: i64,
    pub total: i64,
    pub currency: String,
    pub coupon_code: Option<String>,
    pub status: OrderStatus,
    pub history: Vec<StatusChange>,
    pub shipping: Option<Shipping>,
    /// When a still pending order is cancelled and its stock given back;
    /// absent on orders written before expiry existed (they never expire).
    #[serde(default)]
    pub expires_at: Option<DateTime>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

pub fn collection(db: &Database) -> Collection<OrderDoc> {
    db.collection(ORDERS)
}

pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::plain(ORDERS, doc! { "user_id": 1, "created_at": -1, "_id": -1 }),
        IndexSpec::plain(ORDERS, doc! { "status": 1, "created_at": -1, "_id": -1 }),
        IndexSpec::plain(ORDERS, doc! { "status": 1, "expires_at": 1 }),
        IndexSpec::legacy_id(ORDERS),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderView {
    id: String,
    user_id: String,
    lines: Vec<OrderLineView>,
    subtotal: i64,
    discount: i64,
    /// Delivery: `shop.shipping_cost` for an order with an address whose
    /// subtotal after the coupon is below `shop.free_shipping_min`, else 0.
    shipping_cost: i64,
    /// `subtotal - discount + shipping_cost`.
    total: i64,
    currency: String,
    total_display: String,
    coupon_code: Option<String>,
    status: OrderStatus,
    history: Vec<StatusChangeView>,
    shipping: Option<Shipping>,
    /// While pending: when the order is cancelled unless paid (RFC 3339).
    expires_at: Option<String>,
    created_at: String,
}

impl From<&OrderDoc> for OrderView {
    fn from(o: &OrderDoc) -> Self {
        Self {
            id: o.id.to_hex(),
            user_id: o.user_id.to_hex(),
            lines: o.lines.iter().map(OrderLineView::from).collect(),
            subtotal: o.subtotal,
            discount: o.discount,
            shipping_cost: o.shipping_cost,
            total: o.total,
            currency: o.currency.clone(),
            total_display: Money::from_stored(o.total).display(),
            coupon_code: o.coupon_code.clone(),
            status: o.status,
            history: o.history.iter().map(StatusChangeView::from).collect(),
            shipping: o.shipping.clone(),
            expires_at: o
                .expires_at
                .filter(|_| o.status == OrderStatus::Pending)
                .and_then(|at| at.try_to_rfc3339_string().ok()),
            created_at: rfc3339(o.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderLineView {
    product_id: String,
    name: String,
    sku: String,
    size: Option<String>,
    color: Option<String>,
    /// Integer PYG, as priced when ordered.
    unit_price: i64,
    quantity: i64,
    line_total: i64,
}

impl From<&OrderLine> for OrderLineView {
    fn from(l: &OrderLine) -> Self {
        Self {
            product_id: l.product_id.to_hex(),
            name: l.name.clone(),
            sku: l.sku.clone(),
            size: l.size.clone(),
            color: l.color.clone(),
            unit_price: l.unit_price,
            quantity: l.quantity,
            line_total: l.line_total,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusChangeView {
    status: OrderStatus,
    /// RFC 3339.
    at: String,
    /// Who made the change; absent when the system did (an unpaid order expiring).
    by: Option<String>,
    /// Why, when the system made the change (`payment-timeout`).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl From<&StatusChange> for StatusChangeView {
    fn from(c: &StatusChange) -> Self {
        Self {
            status: c.status,
            at: rfc3339(c.at),
            by: c.by.map(|id| id.to_hex()),
            reason: c.reason.clone(),
        }
    }
}
