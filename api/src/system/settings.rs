//! `admin_settings`: typed, validated key/values. Every key the system
//! knows is declared here with its type, default and visibility; unknown
//! keys are 404 and values of the wrong type 422. Media-valued settings
//! claim their media like any record.

use axum::extract::{Path, State};
use axum::Json;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, DateTime, Document};
use mongodb::Database;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use avenue_shared::{MediaId, MediaRef};

use crate::http::auth::Admin;
use crate::http::error::ApiError;
use crate::http::extract::ApiJson;
use crate::http::plain::plain_json;
use crate::media::embed::{EmbeddedMedia, Embeds};
use crate::media::FieldMedia;
use crate::state::AppState;
use crate::users::model::Email;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(put))
        .routes(routes!(public))
}

pub const SETTINGS: &str = "admin_settings";

#[derive(Debug, Clone, Copy)]
enum Kind {
    Int {
        min: i64,
        max: i64,
    },
    Bool,
    Text {
        max: usize,
    },
    Email,
    /// Integer PYG.
    Money,
    /// A media id (or null).
    Media,
}

struct Definition {
    key: &'static str,
    kind: Kind,
    default: fn() -> Value,
    /// Shown by `GET /api/settings/public` (the storefront reads these).
    public: bool,
    description: &'static str,
}

const DEFINITIONS: &[Definition] = &[
    Definition {
        key: "site.title",
        kind: Kind::Text { max: 120 },
        default: || Value::from("Avenue"),
        public: true,
        description: "Shop name in titles",
    },
    Definition {
        key: "site.logo_media_id",
        kind: Kind::Media,
        default: || Value::Null,
        public: true,
        description: "Logo, a media id",
    },
    Definition {
        key: "contact.email",
        kind: Kind::Email,
        default: || Value::from("hola@avenue.com.py"),
        public: true,
        description: "Where customers write",
    },
    Definition {
        key: "shop.orders_enabled",
        kind: Kind::Bool,
        default: || Value::from(true),
        public: true,
        description: "Whether orders are taken",
    },
    Definition {
        key: "shop.free_shipping_min",
        kind: Kind::Money,
        default: || Value::from(500_000),
        public: true,
        description: "Subtotal (PYG, after the coupon) from which shipping is free",
    },
    Definition {
        key: "shop.shipping_cost",
        kind: Kind::Money,
        default: || Value::from(30_000),
        public: true,
        description: "Shipping (PYG) charged on an order with an address below the free threshold",
    },
    Definition {
        key: "shop.unpaid_order_minutes",
        kind: Kind::Int {
            min: 5,
            max: 43_200,
        },
        default: || Value::from(1440),
        public: true,
        description: "Minutes a pending (unpaid) order holds its stock before it is cancelled",
    },
    Definition {
        key: "studio.horizon_days",
        kind: Kind::Int { min: 1, max: 730 },
        default: || Value::from(180),
        public: true,
        description: "How many days ahead the studio can be booked",
    },
    Definition {
        key: "studio.max_future_bookings",
        kind: Kind::Int { min: 1, max: 100 },
        default: || Value::from(4),
        public: true,
        description: "Upcoming bookings one customer may hold at once (admins are not limited)",
    },
    Definition {
        key: "studio.open_hour",
        kind: Kind::Int { min: 0, max: 23 },
        default: || Value::from(9),
        public: true,
        description: "First bookable hour, local time",
    },
    Definition {
        key: "studio.close_hour",
        kind: Kind::Int { min: 1, max: 24 },
        default: || Value::from(19),
        public: true,
        description: "Hour the studio closes, local time",
    },
    Definition {
        key: "studio.slot_minutes",
        kind: Kind::Int { min: 15, max: 240 },
        default: || Value::from(60),
        public: true,
        description: "Length of one bookable slot; divides an hour or a whole number of hours",
    },
    Definition {
        key: "studio.utc_offset_minutes",
        kind: Kind::Int {
            min: -720,
            max: 840,
        },
        default: || Value::from(-180),
        public: true,
        description: "The studio's offset from UTC (Paraguay: -180)",
    },
];

fn definition(key: &str) -> Result<&'static Definition, ApiError> {
    DEFINITIONS
        .iter()
        .find(|d| d.key == key)
        .ok_or(ApiError::NotFound("setting"))
}

fn type_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Int { .. } => "integer",
        Kind::Bool => "boolean",
        Kind::Text { .. } => "string",
        Kind::Email => "email",
        Kind::Money => "money",
        Kind::Media => "media_id",
    }
}

/// Checks `value` against the key's type, answering the value to store.
fn parse_value(definition: &Definition, value: &Value) -> Result<Value, ApiError> {
    let bad = |why: String| ApiError::invalid("value", why);
    match definition.kind {
        Kind::Int { min, max } => match value.as_i64() {
            Some(n) if (min..=max).contains(&n) => {
                if definition.key == "studio.slot_minutes" && !(60 % n == 0 || n % 60 == 0) {
                    return Err(bad(
                        "a slot divides an hour or is a whole number of hours".into()
                    ));
                }
                Ok(Value::from(n))
            }
            _ => Err(bad(format!("an integer from {min} to {max}"))),
        },
        Kind::Bool => value
            .as_bool()
            .map(Value::from)
            .ok_or_else(|| bad("true or false".into())),
        Kind::Text { max } => match value.as_str() {
            Some(text) => Ok(crate::fields::text(text, "value", max).map(Value::from)?),
            None => Err(bad("a string".into())),
        },
        Kind::Email => match value.as_str() {
            Some(text) => Ok(Email::parse(text, "value").map(|e| Value::from(e.as_str()))?),
            None => Err(bad("an email address".into())),
        },
        Kind::Money => match value.as_i64() {
            Some(n) => Ok(
                crate::shop::money::Money::parse(n, "value").map(|m| Value::from(m.amount()))?
            ),
            None => Err(bad("an integer amount of PYG".into())),
        },
        Kind::Media => match value {
            Value::Null => Ok(Value::Null),
            Value::String(raw) => MediaId::parse(raw)
                .map(|id| Value::from(id.as_str()))
                .map_err(|e| bad(e.to_string())),
            _ => Err(bad("a media id or null".into())),
        },
    }
}

/// Current values with defaults filled in.
#[derive(Debug, Clone)]
pub struct Values(Document);

impl Values {
    /// # Errors
    /// When the database fails.
    pub async fn load(db: &Database) -> Result<Self, ApiError> {
        let stored: Vec<Document> = db
            .collection::<Document>(SETTINGS)
            .find(doc! {})
            .await?
            .try_collect()
            .await?;
        let mut values = Document::new();
        for definition in DEFINITIONS {
            let found = stored
                .iter()
                .find(|d| d.get_str("_id") == Ok(definition.key))
                .and_then(|d| d.get("value").cloned())
                .map(plain_json)
                .filter(|v| parse_value(definition, v).is_ok());
            let value = found.unwrap_or_else(definition.default);
            values.insert(definition.key, Bson::try_from(value).unwrap_or(Bson::Null));
        }
        Ok(Self(values))
    }

    pub fn int(&self, key: &str) -> i64 {
        match self.0.get(key) {
            Some(Bson::Int32(n)) => i64::from(*n),
            Some(Bson::Int64(n)) => *n,
            Some(Bson::Double(n)) => *n as i64,
            _ => 0,
        }
    }

    pub fn flag(&self, key: &str) -> bool {
        self.0.get_bool(key).unwrap_or(false)
    }

    fn json(&self, key: &str) -> Value {
        self.0
            .get(key)
            .cloned()
            .map(plain_json)
            .unwrap_or(Value::Null)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SettingView {
    key: String,
    #[serde(rename = "type")]
    kind: String,
    #[schema(value_type = Value)]
    value: Value,
    #[schema(value_type = Value)]
    default: Value,
    public: bool,
    description: String,
    /// A media-valued setting's media, ready to embed.
    #[serde(skip_serializing_if = "Option::is_none")]
    media: Option<EmbeddedMedia>,
}

impl SettingView {
    fn of(definition: &Definition, value: Value, embeds: &Embeds) -> Self {
        let media = matches!(definition.kind, Kind::Media)
            .then(|| media_in(&value))
            .flatten()
            .and_then(|id| embeds.get(&id, None));
        Self {
            key: definition.key.to_owned(),
            kind: type_name(definition.kind).to_owned(),
            value,
            default: (definition.default)(),
            public: definition.public,
            description: definition.description.to_owned(),
            media,
        }
    }
}

fn media_in(value: &Value) -> Option<MediaId> {
    value.as_str().and_then(|s| MediaId::parse(s).ok())
}

/// The media the media-valued settings name, looked up in one call.
async fn setting_embeds(state: &AppState, values: &Values) -> Embeds {
    let ids: Vec<MediaId> = DEFINITIONS
        .iter()
        .filter(|d| matches!(d.kind, Kind::Media))
        .filter_map(|d| media_in(&values.json(d.key)))
        .collect();
    state.embeds(&ids).await
}

/// Every setting with its type, current value and default (admin).
#[utoipa::path(get, path = "/api/admin/settings", tag = "system",
    responses((status = 200, body = [SettingView])), security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    _admin: Admin,
) -> Result<Json<Vec<SettingView>>, ApiError> {
    let values = Values::load(&state.db).await?;
    let embeds = setting_embeds(&state, &values).await;
    Ok(Json(
        DEFINITIONS
            .iter()
            .map(|d| SettingView::of(d, values.json(d.key), &embeds))
            .collect(),
    ))
}

/// The public settings as one object, for the storefront: key -> value,
/// plus `media`: for each media-valued key set, its media ready to embed
/// (and `media_unavailable: true` when media could not be asked).
#[utoipa::path(get, path = "/api/settings/public", tag = "system",
    responses((status = 200, description = "key -> value, and `media`: key -> EmbeddedMedia")))]
pub async fn public(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let values = Values::load(&state.db).await?;
    let embeds = setting_embeds(&state, &values).await;
    let mut media = serde_json::Map::new();
    let mut map: serde_json::Map<String, Value> = serde_json::Map::new();
    for d in DEFINITIONS.iter().filter(|d| d.public) {
        let value = values.json(d.key);
        if matches!(d.kind, Kind::Media) {
            if let Some(found) = media_in(&value).and_then(|id| embeds.get(&id, None)) {
                let found =
                    serde_json::to_value(found).map_err(|e| ApiError::Internal(e.into()))?;
                media.insert(d.key.to_owned(), found);
            }
        }
        map.insert(d.key.to_owned(), value);
    }
    map.insert("media".to_owned(), Value::Object(media));
    if embeds.unavailable {
        map.insert("media_unavailable".to_owned(), Value::Bool(true));
    }
    Ok(Json(Value::Object(map)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingValue {
    #[schema(value_type = Value)]
    value: Value,
}

/// Sets one setting (admin); audited. Unknown keys are 404, values of the
/// wrong type 422.
#[utoipa::path(put, path = "/api/admin/settings/{key}", tag = "system", request_body = SettingValue,
    responses((status = 200, body = SettingView), (status = 404, description = "unknown key"),
        (status = 422, description = "wrong type or out of range")),
    security(("bearer" = [])))]
pub async fn put(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(key): Path<String>,
    ApiJson(request): ApiJson<SettingValue>,
) -> Result<Json<SettingView>, ApiError> {
    let definition = definition(&key)?;
    let mut given = request.value;
    if matches!(definition.kind, Kind::Media) {
        // The old admin front end sends the image's URL: ours name an id.
        if let Some(id) = given.as_str().and_then(|raw| state.media_urls.id_in(raw)) {
            given = Value::from(id.as_str());
        }
    }
    let value = parse_value(definition, &given)?;
    let before = Values::load(&state.db).await?.json(definition.key);
    let held: Vec<MediaId> = media_in(&before).into_iter().collect();
    let wanted: Vec<FieldMedia> = media_in(&value)
        .map(|id| FieldMedia {
            field: "value".into(),
            id,
        })
        .into_iter()
        .collect();
    let reference =
        MediaRef::of(SETTINGS, definition.key).map_err(|e| ApiError::Internal(e.into()))?;
    let stored = Bson::try_from(value.clone()).map_err(|e| ApiError::Internal(e.into()))?;
    let settings = state.db.collection::<Document>(SETTINGS);
    state
        .media
        .save_with::<_, ApiError, _>(&reference, &held, &wanted, async {
            settings
                .update_one(
                    doc! { "_id": definition.key },
                    doc! { "$set": { "value": stored, "updated_at": DateTime::now(), "updated_by": admin.id } },
                )
                .upsert(true)
                .await?;
            Ok(())
        })
        .await?;
    state
        .audit
        .record(
            &admin,
            "setting.put",
            SETTINGS,
            definition.key,
            Some(&before),
            Some(&value),
        )
        .await;
    let embeds = state.embeds(media_in(&value).iter()).await;
    Ok(Json(SettingView::of(definition, value, &embeds)))
}
