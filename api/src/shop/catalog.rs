//! `shop_products` as stored and as shown: the document, its indexes and
//! its view. Handlers (`products`), the grouped view and orders all read it.

use crate::indexes::IndexSpec;
use mongodb::bson::{doc, oid::ObjectId, DateTime};
use mongodb::{Collection, Database};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use avenue_shared::MediaId;

use super::money::Money;
use crate::media::embed::{EmbeddedMedia, Embeds};

pub const PRODUCTS: &str = "shop_products";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ProductStatus {
    Draft,
    Published,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProductDoc {
    #[serde(rename = "_id")]
    pub id: ObjectId,
    pub name: String,
    pub slug: String,
    pub sku: String,
    #[serde(default)]
    pub description: String,
    /// Integer PYG.
    pub price: i64,
    pub currency: String,
    pub stock: i64,
    #[serde(default)]
    pub sizes: Vec<String>,
    #[serde(default)]
    pub colors: Vec<String>,
    /// Products of one model (the same dress in several colours) share it.
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub image_ids: Vec<MediaId>,
    pub status: ProductStatus,
    /// The old back end's string id, kept by `adopt-data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub legacy_id: Option<String>,
    pub created_at: DateTime,
    pub updated_at: DateTime,
}

pub fn collection(db: &Database) -> Collection<ProductDoc> {
    db.collection(PRODUCTS)
}

/// `slug` and `sku` unique among products that have them (the old back
/// end's have neither until `adopt-data`).
pub fn indexes() -> Vec<IndexSpec> {
    vec![
        IndexSpec::unique_where(PRODUCTS, doc! { "slug": 1 }, "string"),
        IndexSpec::unique_where(PRODUCTS, doc! { "sku": 1 }, "string"),
        IndexSpec::plain(PRODUCTS, doc! { "status": 1, "created_at": -1, "_id": -1 }),
        IndexSpec::plain(PRODUCTS, doc! { "status": 1, "price": 1, "_id": 1 }),
        IndexSpec::plain(PRODUCTS, doc! { "model": 1 }),
        IndexSpec::legacy_id(PRODUCTS),
    ]
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    id: String,
    name: String,
    slug: String,
    sku: String,
    description: String,
    /// Integer PYG.
    price: i64,
    currency: String,
    /// `₲ 150.000`
    price_display: String,
    stock: i64,
    sizes: Vec<String>,
    colors: Vec<String>,
    model: Option<String>,
    #[schema(value_type = Vec<String>)]
    image_ids: Vec<MediaId>,
    /// Delivery URLs of the images, in order.
    image_urls: Vec<String>,
    /// The images ready to embed, in order (reads): URL, size, alt,
    /// `srcset`, placeholder. Images media does not know are left out.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<EmbeddedMedia>,
    /// Media could not be asked: `images` lacks what it would hold.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    media_unavailable: bool,
    status: ProductStatus,
    created_at: String,
    updated_at: String,
}

impl ProductView {
    pub fn of(doc: &ProductDoc, media_base: &url::Url) -> Self {
        let base = media_base.as_str().trim_end_matches('/');
        Self {
            id: doc.id.to_hex(),
            name: doc.name.clone(),
            slug: doc.slug.clone(),
            sku: doc.sku.clone(),
            description: doc.description.clone(),
            price: doc.price,
            currency: doc.currency.clone(),
            price_display: Money::from_stored(doc.price).display(),
            stock: doc.stock,
            sizes: doc.sizes.clone(),
            colors: doc.colors.clone(),
            model: doc.model.clone(),
            image_ids: doc.image_ids.clone(),
            image_urls: doc
                .image_ids
                .iter()
                .map(|id| format!("{base}/image/upload/t_product/{id}.jpg"))
                .collect(),
            images: Vec::new(),
            media_unavailable: false,
            status: doc.status,
            created_at: doc.created_at.try_to_rfc3339_string().unwrap_or_default(),
            updated_at: doc.updated_at.try_to_rfc3339_string().unwrap_or_default(),
        }
    }

    /// Adds the images found by `embeds`.
    pub fn embedding(mut self, embeds: &Embeds) -> Self {
        self.images = embeds.all(&self.image_ids);
        self.media_unavailable = embeds.unavailable && !self.image_ids.is_empty();
        self
    }
}
