//! Documents in the shapes the old FastAPI + Motor back end wrote: a string
//! uuid `id` beside the ObjectId `_id`, ISO-8601 strings for dates, floats
//! for money, `is_active` flags, image URLs under `/api/uploads`, and the
//! password hashes its libraries made.

use mongodb::bson::{doc, oid::ObjectId, Bson, Document};

/// The password every hash in [`HASHES`] was made from.
pub const OLD_PASSWORD: &str = "Avenue-2024!";

/// Hashes of [`OLD_PASSWORD`] made by the reference implementations
/// (Python bcrypt 5.0.0, passlib 1.7.4, Werkzeug 3.1.9), by scheme name.
/// `$2y$` is PHP's name for bcrypt and reuses a `$2b$` salt and digest.
pub const HASHES: &[(&str, &str)] = &[
    (
        "bcrypt-2b",
        "$2b$04$/qYbJvLwlI6eUQv8.tO2fu/c8.iDTBu.KeSs61uvWwqysUe9ndnm.",
    ),
    (
        "bcrypt-2a",
        "$2a$04$/xPoyI36w6D7AGWice86.OzMMVY3.AwmyP0jShpAcUtx8kvhqAdJm",
    ),
    (
        "bcrypt-2y",
        "$2y$04$/qYbJvLwlI6eUQv8.tO2fu/c8.iDTBu.KeSs61uvWwqysUe9ndnm.",
    ),
    (
        "passlib-pbkdf2-sha256",
        "$pbkdf2-sha256$1000$PUdICSGktBaCMAYAQAghpA$NY.BrkbF0xMM.a/Vu5AGd0CDON9cEXM1EIgUP5ZrN4Y",
    ),
    (
        "passlib-sha256-crypt",
        "$5$HKLGJ/kjna/BbhIB$BYY/Fly82PrQRZyI3y7IuOeUfX71LuvFeN/qrmQswo8",
    ),
    (
        "werkzeug-pbkdf2-sha256",
        "pbkdf2:sha256:1000$AxrpeOp21wN3uFbK$d7bca9f1f4aaec087b2116c3dec7e03e5035be43c4ba101815bfb4f76477d479",
    ),
];

/// A fresh uuid in text, as `str(uuid.uuid4())` wrote it.
pub fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// An old user: `hash` in `hash_field` (`password`, `hashed_password` or
/// `password_hash`), `full_name`, an ISO date, a role word of the old
/// back end, and a field we never heard of.
pub fn user(email: &str, hash_field: &str, hash: &str) -> Document {
    let mut user = doc! {
        "_id": ObjectId::new(),
        "id": uuid(),
        "email": email,
        "full_name": "Old Customer",
        "role": "user",
        "is_active": true,
        "created_at": "2023-11-20T18:45:12.345678",
        "newsletter": true,
    };
    user.insert(hash_field, hash);
    user
}

/// An old product: float price, images as old upload URLs (one nested, as
/// some forms sent them), `is_active`, an ISO date, no slug, status or SKU.
pub fn product(n: usize) -> Document {
    doc! {
        "_id": ObjectId::new(),
        "id": uuid(),
        "name": format!("Vestido Ñandutí {n}"),
        "description": "Hecho a mano",
        "price": 150_000.0 + n as f64,
        "stock": (n % 7) as i32,
        "images": [
            format!("/api/uploads/product-{n}-a.jpg"),
            [format!("https://avenue.com.py/api/uploads/product-{n}-b.jpg")],
        ],
        "is_active": true,
        "category": "vestidos",
        "created_at": format!("2024-02-{:02}T10:00:00", 1 + n % 28),
    }
}

/// A product neither ours nor convertible: its price is a word.
pub fn unreadable_product() -> Document {
    doc! {
        "_id": ObjectId::new(),
        "id": uuid(),
        "name": "Precio a consultar",
        "slug": "precio-a-consultar",
        "sku": "ASK-1",
        "price": "consultar",
        "status": "published",
        "created_at": "2024-02-01T10:00:00",
    }
}

/// Inserts `docs` into `collection` of `db`.
pub async fn insert(db: &mongodb::Database, collection: &str, docs: Vec<Document>) {
    if docs.is_empty() {
        return;
    }
    db.collection::<Document>(collection)
        .insert_many(docs)
        .await
        .expect("seeding old documents");
}

/// The `_id` of `doc` as hex.
pub fn oid_hex(doc: &Document) -> String {
    match doc.get("_id") {
        Some(Bson::ObjectId(id)) => id.to_hex(),
        other => panic!("fixture without ObjectId _id: {other:?}"),
    }
}
