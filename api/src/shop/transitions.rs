//! Moving an order along its status machine, by a user or by the expiry
//! pass: conditional on the status read, with stock and the coupon use
//! given back on cancellation, all in one transaction.

use std::collections::BTreeSet;

use futures::{FutureExt, TryStreamExt};
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::Database;

use super::catalog;
use super::order_docs::{collection, OrderDoc, OrderStatus, StatusChange};
use super::{coupons, grouped};
use crate::db::transaction;
use crate::http::error::ApiError;

pub(super) async fn regroup_models(db: &Database, order: &OrderDoc) {
    let ids: Vec<ObjectId> = order.lines.iter().map(|l| l.product_id).collect();
    let models: BTreeSet<String> = match catalog::collection(db)
        .distinct("model", doc! { "_id": { "$in": &ids } })
        .await
    {
        Ok(values) => values
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Err(err) => {
            tracing::error!(error = %err, "could not find the models an order touched");
            return;
        }
    };
    grouped::regroup(db, models.iter().map(|m| Some(m.as_str()))).await;
}

/// Who moves an order along.
#[derive(Debug, Clone, Copy)]
pub(super) enum Actor {
    User(ObjectId),
    /// The expiry pass: the order was not paid in time.
    PaymentTimeout,
}

/// Cancels pending orders whose `expires_at` has passed, giving their stock
/// and coupon uses back; answers how many it cancelled. Safe to run from
/// several instances at once: each cancellation is conditional on the
/// order still being pending, so a payment that lands first wins.
///
/// # Errors
/// When the database fails while listing; a failure on one order is
/// logged and left for the next pass.
pub async fn expire_unpaid(db: &Database) -> Result<u64, ApiError> {
    let due: Vec<OrderDoc> = collection(db)
        .find(doc! { "status": "pending", "expires_at": { "$lte": DateTime::now() } })
        .limit(200)
        .await?
        .try_collect()
        .await?;
    let mut cancelled = 0;
    for order in &due {
        match change_status(db, order, OrderStatus::Cancelled, Actor::PaymentTimeout).await {
            Ok(after) => {
                cancelled += 1;
                tracing::info!(order = %order.id, "unpaid order expired; stock given back");
                regroup_models(db, &after).await;
            }
            Err(ApiError::Conflict { .. }) => {} // paid or cancelled meanwhile
            Err(err) => {
                tracing::warn!(order = %order.id, error = %err, "unpaid order not expired; next pass retries")
            }
        }
    }
    Ok(cancelled)
}

/// The transition, conditional on the status read, with stock and coupon
/// given back on cancellation, all in one transaction.
pub(super) async fn change_status(
    db: &Database,
    order: &OrderDoc,
    next: OrderStatus,
    actor: Actor,
) -> Result<OrderDoc, ApiError> {
    if !order.status.may_become(next) {
        return Err(ApiError::conflict(
            "invalid-transition",
            format!(
                "an order {} cannot become {}",
                order.status.as_str(),
                next.as_str()
            ),
        ));
    }
    let db2 = db.clone();
    let order = order.clone();
    transaction(db, move |session| {
        let (db, order) = (db2.clone(), order.clone());
        async move {
            let change = match actor {
                Actor::User(id) => StatusChange { status: next, at: DateTime::now(), by: Some(id), reason: None },
                Actor::PaymentTimeout => StatusChange {
                    status: next,
                    at: DateTime::now(),
                    by: None,
                    reason: Some("payment-timeout".to_owned()),
                },
            };
            let updated = collection(&db)
                .find_one_and_update(
                    doc! { "_id": order.id, "status": order.status.as_str() },
                    doc! {
                        "$set": { "status": next.as_str(), "updated_at": change.at },
                        "$push": { "history": mongodb::bson::to_bson(&change).map_err(|e| ApiError::Internal(e.into()))? },
                    },
                )
                .return_document(mongodb::options::ReturnDocument::After)
                .session(&mut *session)
                .await?
                .ok_or_else(|| {
                    ApiError::conflict("invalid-transition", "the order changed meanwhile; reload it")
                })?;
            if next == OrderStatus::Cancelled {
                for line in &order.lines {
                    catalog::collection(&db)
                        .update_one(
                            doc! { "_id": line.product_id },
                            doc! { "$inc": { "stock": line.quantity }, "$set": { "updated_at": DateTime::now() } },
                        )
                        .session(&mut *session)
                        .await?;
                }
                if let Some(code) = &order.coupon_code {
                    coupons::give_back(&db, session, code, &order.user_id).await?;
                }
            }
            Ok(updated)
        }
        .boxed()
    })
    .await
}
