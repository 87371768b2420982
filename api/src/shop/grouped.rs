//! `shop_products_grouped`: the published products of each model in one
//! document (the storefront's "one card per model, pick a colour" view).
//! Rebuilt from `shop_products` for every model a write touches, so it is
//! derived data: losing it loses nothing, and `regroup_all` rebuilds it.

use std::collections::BTreeSet;

use axum::extract::State;
use axum::Json;
use futures::TryStreamExt;
use mongodb::bson::{doc, DateTime, Document};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::catalog::{self, ProductDoc};
use crate::http::error::ApiError;
use crate::http::plain::rfc3339;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

pub const GROUPED: &str = "shop_products_grouped";

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupMember {
    id: String,
    name: String,
    slug: String,
    sku: String,
    price: i64,
    stock: i64,
    sizes: Vec<String>,
    colors: Vec<String>,
    /// The first image, for the colour swatch.
    image_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductGroup {
    /// The model name.
    #[serde(rename = "_id")]
    model: String,
    products: Vec<GroupMember>,
    min_price: i64,
    max_price: i64,
    total_stock: i64,
    sizes: Vec<String>,
    colors: Vec<String>,
    updated_at: DateTime,
}

/// A group as the storefront reads it (`_id` kept from the old back end's
/// answer, which the front end reads).
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductGroupView {
    /// The model name.
    #[serde(rename = "_id")]
    model: String,
    products: Vec<GroupMember>,
    min_price: i64,
    max_price: i64,
    total_stock: i64,
    sizes: Vec<String>,
    colors: Vec<String>,
    /// RFC 3339.
    updated_at: String,
}

impl From<ProductGroup> for ProductGroupView {
    fn from(g: ProductGroup) -> Self {
        Self {
            model: g.model,
            products: g.products,
            min_price: g.min_price,
            max_price: g.max_price,
            total_stock: g.total_stock,
            sizes: g.sizes,
            colors: g.colors,
            updated_at: rfc3339(g.updated_at),
        }
    }
}

fn collection(db: &Database) -> Collection<ProductGroup> {
    db.collection(GROUPED)
}

fn build(model: &str, members: &[ProductDoc]) -> Option<ProductGroup> {
    let first = members.first()?;
    let mut sizes: Vec<String> = Vec::new();
    let mut colors: Vec<String> = Vec::new();
    for p in members {
        for s in &p.sizes {
            if !sizes.contains(s) {
                sizes.push(s.clone());
            }
        }
        for c in &p.colors {
            if !colors.contains(c) {
                colors.push(c.clone());
            }
        }
    }
    Some(ProductGroup {
        model: model.to_owned(),
        min_price: members.iter().map(|p| p.price).min().unwrap_or(first.price),
        max_price: members.iter().map(|p| p.price).max().unwrap_or(first.price),
        total_stock: members.iter().map(|p| p.stock).sum(),
        products: members
            .iter()
            .map(|p| GroupMember {
                id: p.id.to_hex(),
                name: p.name.clone(),
                slug: p.slug.clone(),
                sku: p.sku.clone(),
                price: p.price,
                stock: p.stock,
                sizes: p.sizes.clone(),
                colors: p.colors.clone(),
                image_id: p.image_ids.first().map(|id| id.to_string()),
            })
            .collect(),
        sizes,
        colors,
        updated_at: DateTime::now(),
    })
}

/// Rebuilds the groups of `models` (`None`s are skipped). Failures are
/// logged: the catalogue itself is already saved, and the next write to
/// the model (or `regroup_all`) repairs the group.
pub async fn regroup<'a>(db: &Database, models: impl IntoIterator<Item = Option<&'a str>>) {
    let models: BTreeSet<&str> = models.into_iter().flatten().collect();
    for model in models {
        if let Err(err) = regroup_one(db, model).await {
            tracing::error!(%model, error = %err, "could not rebuild a product group");
        }
    }
}

async fn regroup_one(db: &Database, model: &str) -> Result<(), mongodb::error::Error> {
    let stored: Vec<Document> = db
        .collection::<Document>(catalog::PRODUCTS)
        .find(doc! { "model": model, "status": "published" })
        .sort(doc! { "price": 1, "_id": 1 })
        .await?
        .try_collect()
        .await?;
    let members: Vec<ProductDoc> = crate::db::readable(catalog::PRODUCTS, stored, |doc| {
        mongodb::bson::from_document::<ProductDoc>(doc)
    });
    match build(model, &members) {
        Some(group) => {
            collection(db)
                .replace_one(doc! { "_id": model }, &group)
                .upsert(true)
                .await?;
        }
        None => {
            collection(db).delete_one(doc! { "_id": model }).await?;
        }
    }
    Ok(())
}

/// Rebuilds every group from scratch.
///
/// # Errors
/// When the database fails.
pub async fn regroup_all(db: &Database) -> Result<(), mongodb::error::Error> {
    let models: Vec<String> = catalog::collection(db)
        .distinct("model", doc! { "model": { "$type": "string" } })
        .await?
        .into_iter()
        .filter_map(|m| m.as_str().map(str::to_owned))
        .collect();
    // Ours are keyed by model name; groups the old back end stored under
    // other ids are left alone (and skipped by the listing).
    collection(db)
        .delete_many(doc! { "_id": { "$type": "string", "$nin": &models } })
        .await?;
    for model in &models {
        regroup_one(db, model).await?;
    }
    Ok(())
}

/// Published products grouped by model, cheapest first inside a group.
#[utoipa::path(get, path = "/api/shop/products-grouped", tag = "shop",
    responses((status = 200, body = [ProductGroupView])))]
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<ProductGroupView>>, ApiError> {
    let stored: Vec<Document> = state
        .db
        .collection::<Document>(GROUPED)
        .find(doc! { "_id": { "$type": "string" } })
        .sort(doc! { "_id": 1 })
        .limit(500)
        .await?
        .try_collect()
        .await?;
    let groups = crate::db::readable(GROUPED, stored, |doc| {
        mongodb::bson::from_document::<ProductGroup>(doc)
    });
    Ok(Json(
        groups.into_iter().map(ProductGroupView::from).collect(),
    ))
}
