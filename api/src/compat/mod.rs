//! Endpoints kept from the old back end, answered from the new truth:
//! `POST /api/uploads` forwards to the media service; old upload links
//! redirect to the images they became (`old_links`); the debug endpoints
//! report on product images and storage.

pub mod old_links;

use std::collections::BTreeSet;

use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use axum::Json;
use futures::{StreamExt, TryStreamExt};
use mongodb::bson::{doc, Document};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use avenue_shared::{MediaClientError, MediaId, Role, UploadOptions};

use crate::config::Limits;
use crate::http::auth::{Admin, CurrentUser};
use crate::http::error::ApiError;
use crate::http::extract::ApiQuery;
use crate::http::plain::plain_json;
use crate::shop::catalog::PRODUCTS;

/// Set by `avenue-media import-collection` on each old image document it
/// imported (the media id); the two services share the name, not code.
const IMPORTED_MARK: &str = "avenue_media_id";
use crate::state::AppState;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(Debug, Serialize, ToSchema)]
pub struct Uploaded {
    id: String,
    url: String,
}

/// The old back end's endpoints. Uploads are forwarded whole, so they get
/// the media limit, not the JSON one.
pub fn router(limits: &Limits) -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(
            OpenApiRouter::new()
                .routes(routes!(upload))
                .layer(upload_limit(limits.max_upload_bytes)),
        )
        .routes(routes!(products_status))
        .routes(routes!(storage_status))
}

/// What a multipart form adds around the file, at most.
const UPLOAD_FRAMING: usize = 64 * 1024;

/// The body limit of `POST /api/uploads`: the media limit plus framing.
pub fn upload_limit(max_upload_bytes: usize) -> DefaultBodyLimit {
    DefaultBodyLimit::max(max_upload_bytes + UPLOAD_FRAMING)
}

fn media_refusal(err: MediaClientError) -> ApiError {
    match &err {
        MediaClientError::Status { status, body } if *status < 500 => match status {
            413 => ApiError::PayloadTooLarge(body.message.clone()),
            415 => ApiError::UnsupportedMediaType(body.message.clone()),
            400 => ApiError::bad_request("invalid-upload", body.message.clone()),
            _ => ApiError::unprocessable("invalid-upload", body.message.clone()),
        },
        _ if err.is_unavailable() => ApiError::MediaUnavailable(err),
        _ => ApiError::Internal(anyhow::Error::new(err).context("media refused an upload")),
    }
}

/// Uploads an image, a video (MP4, WebM, QuickTime) or a PDF (admins,
/// brands and creators), as the old endpoint took any file: multipart
/// field `file`, optional `folder`, `tags`, `alt`. Answers the media id and its delivery
/// URL. The upload is the caller's: only they (and admins) may then use
/// it in a record, and an erasure of the caller removes it.
#[utoipa::path(post, path = "/api/uploads", tag = "compat",
    request_body(content_type = "multipart/form-data", description = "field `file`"),
    responses((status = 201, body = Uploaded), (status = 413, description = "too large"),
        (status = 415, description = "not an image, video or PDF"), (status = 503, description = "media down")),
    security(("bearer" = [])))]
pub async fn upload(
    State(state): State<AppState>,
    user: CurrentUser,
    headers: axum::http::HeaderMap,
    form: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<Uploaded>), ApiError> {
    // The role first: a customer learns it may not upload, whatever it sent.
    user.require(&[Role::Admin, Role::Brand, Role::Creator], "upload images")?;
    crate::http::extract::refuse_declared_over(
        &headers,
        state.config.limits.max_upload_bytes + UPLOAD_FRAMING,
    )?;
    let mut form = form.map_err(|e| ApiError::bad_request("invalid-multipart", e.body_text()))?;
    let mut file = None;
    // Made for a form that may never be saved: it expires unless claimed.
    let mut options = UploadOptions {
        pending: true,
        ..UploadOptions::default()
    };
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request("invalid-multipart", e.body_text()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let data = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the upload is larger than allowed".into())
            } else {
                ApiError::bad_request("invalid-multipart", e.body_text())
            }
        })?;
        let text = || String::from_utf8_lossy(&data).into_owned();
        match name.as_str() {
            "file" => {
                options.file_name = file_name;
                file = Some(data);
            }
            "folder" => options.folder = Some(text()),
            "alt" => options.alt = Some(text()),
            "tags" => {
                options.tags = text()
                    .split(',')
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty())
                    .collect()
            }
            _ => {}
        }
    }
    let file =
        file.ok_or_else(|| ApiError::invalid("file", "send the file in a field named file"))?;
    // The library is what everyone may use: only admins add to it.
    let in_library = options.folder.as_deref().is_some_and(|f| {
        let f = f.trim().trim_start_matches('/');
        f == "library" || f.starts_with("library/")
    });
    if in_library && !user.is_admin() {
        return Err(ApiError::invalid(
            "folder",
            "only admins add images to the library",
        ));
    }
    let descriptor = state
        .media
        .client_as(&user.id.to_hex())?
        .upload(file, &options)
        .await
        .map_err(media_refusal)?;
    if user.is_admin() {
        state
            .audit
            .record(
                &user,
                "media.upload",
                "media",
                descriptor.id.as_str(),
                None::<&()>,
                Some(&descriptor),
            )
            .await;
    }
    Ok((
        StatusCode::CREATED,
        Json(Uploaded {
            id: descriptor.id.to_string(),
            url: descriptor.url,
        }),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductsStatus {
    products: u64,
    with_images: u64,
    without_images: u64,
    /// Distinct media ids products reference.
    referenced_media: usize,
    /// Referenced ids the media service does not know.
    missing_media: Vec<String>,
    /// Products still carrying old-style image fields (`images`,
    /// `image_url`, `image`) with URLs or legacy documents.
    legacy_references: u64,
    /// Products in the old back end's shape (`adopt-data` has not
    /// converted them).
    not_adopted: u64,
    /// A page of the products with old image references, to re-upload.
    to_reupload: Vec<ReuploadItem>,
}

/// A product whose images still point at the old back end's storage.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReuploadItem {
    id: String,
    legacy_id: Option<String>,
    name: Option<String>,
    /// The old URLs or document ids, as stored.
    #[schema(value_type = Vec<Value>)]
    references: Vec<Value>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct StatusQuery {
    /// Page of `to_reupload`, from 1.
    page: Option<u32>,
    /// Items per page, 1 to 100 (default 20).
    limit: Option<u32>,
}

/// Old image fields of products (see `rewrite-media-refs`).
const LEGACY_IMAGE_FIELDS: [&str; 3] = ["images", "image_url", "image"];

fn legacy_images_filter() -> Document {
    doc! { "$or": [
        { "images.0": { "$exists": true } },
        { "image_url": { "$exists": true, "$ne": null } },
        { "image": { "$exists": true, "$ne": null } },
    ] }
}

/// Documents that still look like the old back end's: a string `id` and
/// no `legacy_id` (what `adopt-data` would keep it as).
fn old_style_filter() -> Document {
    doc! { "id": { "$type": "string" }, "legacy_id": { "$exists": false } }
}

fn reupload_item(product: &Document) -> ReuploadItem {
    let references = LEGACY_IMAGE_FIELDS
        .iter()
        .filter_map(|f| product.get(*f))
        .filter(|v| !matches!(v, mongodb::bson::Bson::Null))
        .map(|v| plain_json(v.clone()))
        .collect();
    ReuploadItem {
        id: crate::adopt::id_text(product),
        legacy_id: product
            .get_str("legacy_id")
            .or_else(|_| product.get_str("id"))
            .ok()
            .map(str::to_owned),
        name: product.get_str("name").ok().map(str::to_owned),
        references,
    }
}

/// How the catalogue's images stand (admin).
#[utoipa::path(get, path = "/api/shop/debug/products-status", tag = "compat",
    params(StatusQuery),
    responses((status = 200, body = ProductsStatus), (status = 503, description = "media down")),
    security(("bearer" = [])))]
pub async fn products_status(
    State(state): State<AppState>,
    _admin: Admin,
    ApiQuery(query): ApiQuery<StatusQuery>,
) -> Result<Json<ProductsStatus>, ApiError> {
    let products = state.db.collection::<Document>(PRODUCTS);
    let total = products.count_documents(doc! {}).await?;
    let with_images = products
        .count_documents(doc! { "image_ids.0": { "$exists": true } })
        .await?;
    let legacy_references = products.count_documents(legacy_images_filter()).await?;
    let not_adopted = products.count_documents(old_style_filter()).await?;
    let page = crate::db::Page::of(query.page, query.limit);
    let to_reupload: Vec<ReuploadItem> =
        crate::db::find_page(&products, legacy_images_filter(), doc! { "_id": 1 }, page)
            .await?
            .iter()
            .map(reupload_item)
            .collect();
    let ids: BTreeSet<MediaId> = products
        .distinct("image_ids", doc! {})
        .await?
        .into_iter()
        .filter_map(|v| v.as_str().and_then(|s| MediaId::parse(s).ok()))
        .collect();
    let client = state.media.client()?;
    let checks: Vec<(MediaId, Result<(), MediaClientError>)> =
        futures::stream::iter(ids.iter().cloned())
            .map(|id| {
                let client = client.clone();
                async move {
                    let found = client.get(&id).await.map(|_| ());
                    (id, found)
                }
            })
            .buffer_unordered(8)
            .collect()
            .await;
    let mut missing = Vec::new();
    for (id, found) in checks {
        match found {
            Ok(()) => {}
            Err(err) if err.is_not_found() => missing.push(id.to_string()),
            Err(err) if err.is_unavailable() => return Err(ApiError::MediaUnavailable(err)),
            Err(err) => return Err(ApiError::Internal(err.into())),
        }
    }
    missing.sort();
    Ok(Json(ProductsStatus {
        products: total,
        with_images,
        without_images: total - with_images,
        referenced_media: ids.len(),
        missing_media: missing,
        legacy_references,
        not_adopted,
        to_reupload,
    }))
}

/// The media service's storage status, and what the api references (admin).
#[utoipa::path(get, path = "/api/shop/debug/storage-status", tag = "compat",
    responses((status = 200, description = "media status and references"),
        (status = 503, description = "media down")),
    security(("bearer" = [])))]
pub async fn storage_status(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Value>, ApiError> {
    let media = state
        .media
        .client()?
        .storage_status()
        .await
        .map_err(|err| {
            if err.is_unavailable() {
                ApiError::MediaUnavailable(err)
            } else {
                ApiError::Internal(err.into())
            }
        })?;
    let count = |collection: &'static str, filter: Document| {
        let db = state.db.clone();
        async move {
            db.collection::<Document>(collection)
                .count_documents(filter)
                .await
        }
    };
    let products_with_images = count(PRODUCTS, doc! { "image_ids.0": { "$exists": true } }).await?;
    let pages: Vec<Document> = state
        .db
        .collection::<Document>(crate::system::pages::PAGES)
        .find(doc! {})
        .projection(doc! { "_id": 1 })
        .await?
        .try_collect()
        .await?;
    let legacy_pages = count(
        crate::system::pages::PAGES,
        doc! { "$or": [
            { "blocks.url": { "$exists": true } },
            { "blocks.src": { "$exists": true } },
            { "blocks.image": { "$exists": true } },
            { "blocks.images": { "$exists": true } },
        ] },
    )
    .await?;
    let legacy_products = count(PRODUCTS, legacy_images_filter()).await?;
    let legacy_settings = count(
        crate::system::settings::SETTINGS,
        doc! { "value": { "$regex": "/uploads/" } },
    )
    .await?;
    let mut adoption = serde_json::Map::new();
    for collection in crate::adopt::run::COLLECTIONS {
        adoption.insert(
            collection.to_owned(),
            serde_json::json!({
                "documents": count(collection, doc! {}).await?,
                "old_style": count(collection, old_style_filter()).await?,
            }),
        );
    }
    let mut old_images = serde_json::Map::new();
    for collection in ["temp_images", "product_images_data"] {
        let documents = count(collection, doc! {}).await?;
        let imported = count(collection, doc! { IMPORTED_MARK: { "$exists": true } }).await?;
        old_images.insert(
            collection.to_owned(),
            serde_json::json!({
                "documents": documents,
                "imported": imported,
                "left": documents - imported,
            }),
        );
    }
    let media_settings = count(
        crate::system::settings::SETTINGS,
        doc! { "_id": { "$regex": "media_id$" }, "value": { "$type": "string" } },
    )
    .await?;
    Ok(Json(serde_json::json!({
        "media": media,
        "references": {
            "products_with_images": products_with_images,
            "pages": pages.len(),
            "settings_with_media": media_settings,
        },
        "legacy_references_left": {
            "products": legacy_products,
            "pages": legacy_pages,
            "settings": legacy_settings,
        },
        // Per collection: documents, and how many are still in the old
        // back end's shape (`adopt-data` converts them).
        "adoption": adoption,
        // The stop-gap image collections: imported into media by
        // `avenue-media import-collection`, and left to import.
        "old_image_collections": old_images,
        // What the data the old back end left made start-up and reads
        // step around: indexes not created, documents skipped in lists.
        "index_problems": state.indexes.problems,
        "skipped_reads": crate::db::skipped_reads(),
    })))
}
