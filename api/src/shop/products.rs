//! `shop_products`: the catalogue. Prices are integer PYG, images are media
//! ids in display order (claimed in the media service), drafts are seen by
//! admins only. Every write regroups the product's model.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use mongodb::bson::{doc, oid::ObjectId, Bson, DateTime, Document};
use mongodb::Database;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use avenue_shared::{MediaId, MediaRef};

use super::catalog::{collection, ProductDoc, ProductStatus, ProductView, PRODUCTS};
use super::grouped;
use super::money::{Money, CURRENCY};
use crate::adopt;
use crate::db::{is_duplicate_key, DbError};
use crate::fields::{self, double_option};
use crate::http::auth::{Admin, MaybeUser};
use crate::http::error::ApiError;
use crate::http::extract::{ApiJson, ApiQuery};
use crate::media::indexed;
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(show, update, remove))
}

const MAX_IMAGES: usize = 20;
const MAX_STOCK: i64 = 1_000_000_000;

/// Reads one stored product, ours or the old back end's (through its
/// converter, so a product `adopt-data` has not reached still reads).
///
/// # Errors
/// 422 `legacy-document` for a product in neither shape.
pub async fn find_one(db: &Database, filter: Document) -> Result<Option<ProductDoc>, DbError> {
    let stored = db.collection::<Document>(PRODUCTS).find_one(filter).await?;
    Ok(stored
        .map(|doc| adopt::read_as(PRODUCTS, doc, adopt::products::convert))
        .transpose()?)
}

/// A product and the filter that matches it only as it was read (its
/// stored `updated_at`, whatever its type), so a concurrent edit is not
/// silently overwritten, old documents included.
async fn find_versioned(
    db: &Database,
    id: ObjectId,
) -> Result<Option<(ProductDoc, Document)>, DbError> {
    let Some(stored) = db
        .collection::<Document>(PRODUCTS)
        .find_one(doc! { "_id": id })
        .await?
    else {
        return Ok(None);
    };
    let version = match stored.get("updated_at") {
        Some(at) => doc! { "_id": id, "updated_at": at.clone() },
        None => doc! { "_id": id, "updated_at": { "$exists": false } },
    };
    let product = adopt::read_as(PRODUCTS, stored, adopt::products::convert)?;
    Ok(Some((product, version)))
}

impl ProductDoc {
    pub fn reference(&self) -> Result<MediaRef, ApiError> {
        reference(self.id)
    }
}

pub fn reference(id: ObjectId) -> Result<MediaRef, ApiError> {
    MediaRef::of(PRODUCTS, &id.to_hex()).map_err(|e| ApiError::Internal(e.into()))
}

/// A new product. Prices are integer PYG.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub(crate) name: String,
    /// Derived from the name when absent.
    pub(crate) slug: Option<String>,
    pub(crate) sku: String,
    pub(crate) description: Option<String>,
    pub(crate) price: i64,
    /// Only `PYG`.
    pub(crate) currency: Option<String>,
    pub(crate) stock: i64,
    #[serde(default)]
    pub(crate) sizes: Vec<String>,
    #[serde(default)]
    pub(crate) colors: Vec<String>,
    pub(crate) model: Option<String>,
    #[serde(default)]
    #[schema(value_type = Vec<String>)]
    pub(crate) image_ids: Vec<MediaId>,
    pub(crate) status: Option<ProductStatus>,
}

/// A partial update; `null` clears `model` and `description`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub(crate) name: Option<String>,
    pub(crate) slug: Option<String>,
    pub(crate) sku: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub(crate) description: Option<Option<String>>,
    pub(crate) price: Option<i64>,
    pub(crate) currency: Option<String>,
    pub(crate) stock: Option<i64>,
    pub(crate) sizes: Option<Vec<String>>,
    pub(crate) colors: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub(crate) model: Option<Option<String>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub(crate) image_ids: Option<Vec<MediaId>>,
    pub(crate) status: Option<ProductStatus>,
}

fn sku(raw: &str) -> Result<String, ApiError> {
    let value = raw.trim();
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(value.to_owned())
    } else {
        Err(ApiError::invalid("sku", "1 to 64 letters, digits, - _ ."))
    }
}

fn stock(value: i64) -> Result<i64, ApiError> {
    if (0..=MAX_STOCK).contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::invalid("stock", "stock is a whole number from 0"))
    }
}

fn images(ids: Vec<MediaId>) -> Result<Vec<MediaId>, ApiError> {
    if ids.len() > MAX_IMAGES {
        return Err(ApiError::invalid(
            "image_ids",
            format!("at most {MAX_IMAGES} images"),
        ));
    }
    let mut out: Vec<MediaId> = Vec::new();
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn model(raw: Option<&str>) -> Result<Option<String>, ApiError> {
    Ok(raw
        .filter(|m| !m.trim().is_empty())
        .map(|m| fields::text(m, "model", 100))
        .transpose()?)
}

/// Applies every rule to a full product.
pub(crate) fn parse_new(input: NewProduct) -> Result<ProductDoc, ApiError> {
    let name = fields::text(&input.name, "name", 200)?;
    let slug = match input.slug {
        Some(slug) => fields::slug(&slug, "slug")?,
        None => fields::slug(&fields::slugify(&name), "name")?,
    };
    Money::check_currency(input.currency.as_deref(), "currency")?;
    let now = DateTime::now();
    Ok(ProductDoc {
        id: ObjectId::new(),
        slug,
        sku: sku(&input.sku)?,
        description: fields::optional_text(
            input.description.as_deref().unwrap_or(""),
            "description",
            5000,
        )?,
        price: Money::parse(input.price, "price")?.amount(),
        currency: CURRENCY.to_owned(),
        stock: stock(input.stock)?,
        sizes: fields::labels(&input.sizes, "sizes")?,
        colors: fields::labels(&input.colors, "colors")?,
        model: model(input.model.as_deref())?,
        image_ids: images(input.image_ids)?,
        status: input.status.unwrap_or(ProductStatus::Draft),
        legacy_id: None,
        created_at: now,
        updated_at: now,
        name,
    })
}

pub(crate) fn apply_patch(
    mut product: ProductDoc,
    patch: ProductPatch,
) -> Result<ProductDoc, ApiError> {
    if let Some(name) = patch.name {
        product.name = fields::text(&name, "name", 200)?;
    }
    if let Some(slug) = patch.slug {
        product.slug = fields::slug(&slug, "slug")?;
    }
    if let Some(value) = patch.sku {
        product.sku = sku(&value)?;
    }
    if let Some(description) = patch.description {
        product.description =
            fields::optional_text(description.as_deref().unwrap_or(""), "description", 5000)?;
    }
    if let Some(price) = patch.price {
        product.price = Money::parse(price, "price")?.amount();
    }
    Money::check_currency(patch.currency.as_deref(), "currency")?;
    if let Some(value) = patch.stock {
        product.stock = stock(value)?;
    }
    if let Some(sizes) = patch.sizes {
        product.sizes = fields::labels(&sizes, "sizes")?;
    }
    if let Some(colors) = patch.colors {
        product.colors = fields::labels(&colors, "colors")?;
    }
    if let Some(value) = patch.model {
        product.model = model(value.as_deref())?;
    }
    if let Some(ids) = patch.image_ids {
        product.image_ids = images(ids)?;
    }
    if let Some(status) = patch.status {
        product.status = status;
    }
    product.updated_at = DateTime::now();
    Ok(product)
}

fn duplicate_message(err: mongodb::error::Error) -> ApiError {
    if !is_duplicate_key(&err) {
        return err.into();
    }
    // The message names the index: `... index: sku_1 dup key ...`.
    if err.to_string().contains("sku") {
        ApiError::conflict("sku-taken", "another product has this SKU")
    } else {
        ApiError::conflict("slug-taken", "another product has this slug")
    }
}

/// Creates a product (admin). Its images are claimed first: an unknown
/// media id is a 422 naming it, a media outage a 503, and nothing is saved.
#[utoipa::path(post, path = "/api/shop/products", tag = "shop",
    request_body = NewProduct,
    responses((status = 201, body = ProductView), (status = 409, description = "slug or SKU taken"),
        (status = 422, description = "invalid field or unknown media id"),
        (status = 503, description = "media service down; nothing saved")),
    security(("bearer" = [])))]
pub async fn create(
    State(state): State<AppState>,
    Admin(admin): Admin,
    ApiJson(input): ApiJson<NewProduct>,
) -> Result<(StatusCode, Json<ProductView>), ApiError> {
    let product = parse_new(input)?;
    let reference = product.reference()?;
    let products = collection(&state.db);
    state
        .media
        .save_with::<_, ApiError, _>(
            &reference,
            &[],
            &indexed("image_ids", &product.image_ids),
            async {
                products
                    .insert_one(&product)
                    .await
                    .map_err(duplicate_message)?;
                Ok(())
            },
        )
        .await?;
    grouped::regroup(&state.db, [product.model.as_deref()]).await;
    state
        .audit
        .record(
            &admin,
            "product.create",
            PRODUCTS,
            &product.id.to_hex(),
            None::<&ProductDoc>,
            Some(&product),
        )
        .await;
    Ok((
        StatusCode::CREATED,
        Json(ProductView::of(&product, state.media_public_url())),
    ))
}

/// Changes a product (admin); images it drops are released.
#[utoipa::path(patch, path = "/api/shop/products/{id}", tag = "shop",
    request_body = ProductPatch,
    responses((status = 200, body = ProductView), (status = 404, description = "no such product"),
        (status = 409, description = "slug or SKU taken"), (status = 422, description = "invalid field"),
        (status = 503, description = "media service down; nothing saved")),
    security(("bearer" = [])))]
pub async fn update(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<ProductPatch>,
) -> Result<Json<ProductView>, ApiError> {
    let id = crate::db::resolve_id(&state.db, PRODUCTS, &id, "product").await?;
    let products = collection(&state.db);
    let (before, version) = find_versioned(&state.db, id)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    let after = apply_patch(before.clone(), patch)?;
    let reference = after.reference()?;
    state
        .media
        .save_with::<_, ApiError, _>(
            &reference,
            &before.image_ids,
            &indexed("image_ids", &after.image_ids),
            async {
                // Conditional on the version read; `$set` of our fields
                // only, so fields the old back end wrote stay as they were.
                let mut fields = mongodb::bson::to_document(&after).map_err(anyhow::Error::from)?;
                fields.remove("_id");
                let replaced = products
                    .update_one(version, doc! { "$set": fields })
                    .await
                    .map_err(duplicate_message)?;
                if replaced.matched_count == 0 {
                    return Err(ApiError::conflict(
                        "edit-conflict",
                        "the product changed meanwhile; reload and try again",
                    ));
                }
                Ok(())
            },
        )
        .await?;
    grouped::regroup(&state.db, [before.model.as_deref(), after.model.as_deref()]).await;
    state
        .audit
        .record(
            &admin,
            "product.update",
            PRODUCTS,
            &id.to_hex(),
            Some(&before),
            Some(&after),
        )
        .await;
    Ok(Json(ProductView::of(&after, state.media_public_url())))
}

/// Deletes a product (admin) and releases its images.
#[utoipa::path(delete, path = "/api/shop/products/{id}", tag = "shop",
    responses((status = 204), (status = 404, description = "no such product")),
    security(("bearer" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = crate::db::resolve_id(&state.db, PRODUCTS, &id, "product").await?;
    // Read first, so a product in neither shape answers 422 and stays.
    find_one(&state.db, doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    let deleted = state
        .db
        .collection::<Document>(PRODUCTS)
        .find_one_and_delete(doc! { "_id": id })
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    let before = adopt::read_as::<ProductDoc>(PRODUCTS, deleted, adopt::products::convert)
        .map_err(DbError::Legacy)?;
    state
        .media
        .release_all(&before.reference()?, &before.image_ids)
        .await;
    grouped::regroup(&state.db, [before.model.as_deref()]).await;
    state
        .audit
        .record(
            &admin,
            "product.delete",
            PRODUCTS,
            &id.to_hex(),
            Some(&before),
            None::<&ProductDoc>,
        )
        .await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Clone, Copy, Deserialize, ToSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProductSort {
    #[default]
    Newest,
    PriceAsc,
    PriceDesc,
    Name,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ProductQuery {
    /// Words in the name or SKU, case-insensitive.
    q: Option<String>,
    /// Admins only; others always see published products.
    status: Option<ProductStatus>,
    min_price: Option<i64>,
    max_price: Option<i64>,
    size: Option<String>,
    color: Option<String>,
    model: Option<String>,
    in_stock: Option<bool>,
    sort: Option<ProductSort>,
    page: Option<u32>,
    limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductPage {
    items: Vec<ProductView>,
    total: u64,
    page: u32,
    limit: i64,
}

/// Search and filters with paging. Sorts always end with `_id`, so pages
/// neither repeat nor skip products when prices or dates tie.
#[utoipa::path(get, path = "/api/shop/products", tag = "shop", params(ProductQuery),
    responses((status = 200, body = ProductPage), (status = 400, description = "bad query")))]
pub async fn list(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    ApiQuery(query): ApiQuery<ProductQuery>,
) -> Result<Json<ProductPage>, ApiError> {
    let admin = user.as_ref().is_some_and(|u| u.is_admin());
    let mut filter = Document::new();
    match (admin, query.status) {
        (true, Some(status)) => {
            filter.insert(
                "status",
                mongodb::bson::to_bson(&status).map_err(anyhow::Error::from)?,
            );
        }
        (true, None) => {}
        (false, _) => {
            filter.insert("status", "published");
        }
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        if q.chars().count() > 100 {
            return Err(ApiError::bad_request(
                "invalid-query",
                "q: at most 100 characters",
            ));
        }
        let pattern = crate::db::regex_escape(q);
        filter.insert(
            "$or",
            vec![
                Bson::Document(doc! { "name": { "$regex": &pattern, "$options": "i" } }),
                Bson::Document(doc! { "sku": { "$regex": &pattern, "$options": "i" } }),
            ],
        );
    }
    let mut price = Document::new();
    if let Some(min) = query.min_price {
        price.insert("$gte", min);
    }
    if let Some(max) = query.max_price {
        price.insert("$lte", max);
    }
    if !price.is_empty() {
        filter.insert("price", price);
    }
    if let Some(size) = query.size {
        filter.insert("sizes", size);
    }
    if let Some(color) = query.color {
        filter.insert("colors", color);
    }
    if let Some(model) = query.model {
        filter.insert("model", model);
    }
    if query.in_stock == Some(true) {
        filter.insert("stock", doc! { "$gt": 0 });
    }
    let sort = match query.sort.unwrap_or_default() {
        ProductSort::Newest => doc! { "created_at": -1, "_id": -1 },
        ProductSort::PriceAsc => doc! { "price": 1, "_id": 1 },
        ProductSort::PriceDesc => doc! { "price": -1, "_id": -1 },
        ProductSort::Name => doc! { "name": 1, "_id": 1 },
    };
    let products = collection(&state.db);
    let total = products.count_documents(filter.clone()).await?;
    let page = crate::db::Page::of(query.page, query.limit);
    let docs: Vec<ProductDoc> = crate::db::find_page(&products, filter, sort, page).await?;
    // One lookup for the whole page's images.
    let embeds = state.embeds(docs.iter().flat_map(|d| &d.image_ids)).await;
    Ok(Json(ProductPage {
        items: docs
            .iter()
            .map(|d| ProductView::of(d, state.media_public_url()).embedding(&embeds))
            .collect(),
        total,
        page: query.page.unwrap_or(1).max(1),
        limit: page.limit,
    }))
}

/// One product by id or slug (`{id}` takes either); drafts only for admins.
#[utoipa::path(get, path = "/api/shop/products/{id}", tag = "shop",
    responses((status = 200, body = ProductView), (status = 404, description = "no such product")))]
pub async fn show(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(id_or_slug): Path<String>,
) -> Result<Json<ProductView>, ApiError> {
    let filter = match ObjectId::parse_str(&id_or_slug) {
        Ok(id) => doc! { "_id": id },
        // A slug, or the old back end's id in links from before the cut-over.
        Err(_) => doc! { "$or": [
            { "slug": &id_or_slug },
            { "legacy_id": &id_or_slug },
            { "id": &id_or_slug },
        ] },
    };
    let product = find_one(&state.db, filter)
        .await?
        .filter(|p| {
            p.status == ProductStatus::Published || user.as_ref().is_some_and(|u| u.is_admin())
        })
        .ok_or(ApiError::NotFound("product"))?;
    let embeds = state.embeds(&product.image_ids).await;
    Ok(Json(
        ProductView::of(&product, state.media_public_url()).embedding(&embeds),
    ))
}
