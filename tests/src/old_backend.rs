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

/// What [`seed`] wrote, to look documents up by their old ids.
#[derive(Debug, Default)]
pub struct Seeded {
    /// Email and old id of every customer that can sign in.
    pub customers: Vec<(String, String)>,
    /// Old ids of the convertible products, in order.
    pub products: Vec<String>,
    /// Old order id -> (buyer's old id, old product ids of its lines).
    pub orders: Vec<(String, String, Vec<String>)>,
    /// Per collection, how many documents cannot be converted by default.
    pub refused: std::collections::BTreeMap<&'static str, u64>,
    /// Per collection, how many documents were written.
    pub written: std::collections::BTreeMap<&'static str, u64>,
    /// The order whose status only `--rules` can map (`en_camino`).
    pub order_needing_rules: String,
}

impl Seeded {
    fn count(&mut self, collection: &'static str, n: usize) {
        *self.written.entry(collection).or_default() += n as u64;
    }
    fn refuse(&mut self, collection: &'static str) {
        *self.refused.entry(collection).or_default() += 1;
    }
}

/// A whole old database: every collection Avenue shared, in the old
/// style, with references between them by old ids, `products` products,
/// and documents no default can convert.
pub async fn seed(db: &mongodb::Database, products: usize) -> Seeded {
    let mut seeded = Seeded::default();
    let mut users = Vec::new();
    for i in 0..40 {
        let mut u = user(
            &format!("Customer{i}@Example.com"),
            "password",
            HASHES[i % HASHES.len()].1,
        );
        let old = u.get_str("id").expect("id").to_owned();
        if i % 2 == 0 {
            u.insert("role", "cliente");
        }
        seeded
            .customers
            .push((format!("customer{i}@example.com"), old));
        users.push(u);
    }
    let mut admin = user("owner@avenue.com.py", "hashed_password", HASHES[3].1);
    admin.remove("role");
    admin.insert("is_admin", true);
    users.push(admin);
    let brand = {
        let mut u = user("marca@example.com", "password", HASHES[0].1);
        u.insert("role", "brand");
        u
    };
    let creator = {
        let mut u = user("creadora@example.com", "password", HASHES[0].1);
        u.insert("role", "influencer");
        u
    };
    let brand_old = brand.get_str("id").expect("id").to_owned();
    let creator_old = creator.get_str("id").expect("id").to_owned();
    users.extend([brand, creator]);
    let mut wizard = user("wizard@example.com", "password", HASHES[0].1);
    wizard.insert("role", "wizard");
    users.push(wizard);
    seeded.refuse("users");
    let mut no_email = user("x@example.com", "password", HASHES[0].1);
    no_email.remove("email");
    users.push(no_email);
    seeded.refuse("users");
    // The same person twice, typed differently: one is refused until merged.
    users.push(user("twin@example.com", "password", HASHES[0].1));
    users.push(user("TWIN@example.com", "password", HASHES[0].1));
    seeded.refuse("users");
    seeded.count("users", users.len());
    insert(db, "users", users).await;

    let mut catalogue: Vec<Document> = (0..products).map(product).collect();
    seeded.products = catalogue
        .iter()
        .map(|p| p.get_str("id").expect("id").to_owned())
        .collect();
    // Three with one name: their slugs must come out distinct.
    for _ in 0..3 {
        let mut same = product(0);
        same.insert("name", "Remera Básica");
        seeded
            .products
            .push(same.get_str("id").expect("id").to_owned());
        catalogue.push(same);
    }
    catalogue.push(unreadable_product());
    seeded.refuse("shop_products");
    seeded.count("shop_products", catalogue.len());
    insert(db, "shop_products", catalogue).await;

    let mut coupons = Vec::new();
    for (i, code) in ["verano10", "invierno20", "bienvenida"].iter().enumerate() {
        coupons.push(doc! {
            "_id": ObjectId::new(), "id": uuid(), "code": *code,
            "discount_type": "percentage", "discount_value": 10.0 * (i + 1) as f64,
            "expiry_date": "2027-01-31T23:59:59", "usage_limit": 100, "used_count": i as i32,
            "is_active": true, "created_at": "2024-01-01T00:00:00",
        });
    }
    coupons.push(doc! { "_id": ObjectId::new(), "id": uuid(), "code": "mitad", "discount_type": "percentage", "discount_value": 150 });
    seeded.refuse("shop_coupons");
    seeded.count("shop_coupons", coupons.len());
    insert(db, "shop_coupons", coupons).await;

    let mut orders = Vec::new();
    for i in 0..200 {
        let (_, buyer) = &seeded.customers[i % seeded.customers.len()];
        let lines: Vec<String> = (0..1 + i % 3)
            .map(|k| seeded.products[(i * 7 + k) % products.max(1)].clone())
            .collect();
        let items: Vec<Document> = lines
            .iter()
            .enumerate()
            .map(|(k, p)| doc! { "product_id": p, "name": format!("Item {k}"), "price": 150_000.0, "quantity": 1 + k as i32, "size": "M" })
            .collect();
        let old = uuid();
        let status = ["pending", "completed", "cancelled", "pagado"][i % 4];
        orders.push(doc! {
            "_id": ObjectId::new(), "id": &old, "user_id": buyer, "items": items,
            "total": 150_000.0 * lines.len() as f64, "status": status,
            "shipping_address": { "street": "Palma 123", "city": "Asunción" },
            "created_at": "2024-03-10T15:00:00-03:00", "payment_method": "transfer",
        });
        seeded.orders.push((old, buyer.clone(), lines));
    }
    // A line whose product the old shop deleted: refused, never half-known.
    orders.push(doc! {
        "_id": ObjectId::new(), "id": uuid(), "user_id": &seeded.customers[0].1,
        "items": [{ "product_id": uuid(), "price": 1000.0, "quantity": 1 }],
        "status": "pending", "created_at": "2024-03-10T15:00:00",
    });
    seeded.refuse("orders");
    let needing_rules = uuid();
    orders.push(doc! {
        "_id": ObjectId::new(), "id": &needing_rules, "user_id": &seeded.customers[1].1,
        "items": [{ "product_id": &seeded.products[0], "price": 1000.0, "quantity": 2 }],
        "status": "en_camino", "created_at": "2024-03-11T15:00:00",
    });
    seeded.refuse("orders");
    seeded.order_needing_rules = needing_rules;
    seeded.count("orders", orders.len());
    insert(db, "orders", orders).await;

    let campaign = uuid();
    let others: Vec<(&'static str, Vec<Document>)> = vec![
        (
            "ugc_creators",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "user_id": &creator_old, "bio": "Moda", "instagram": "@creadora", "created_at": "2024-01-05T10:00:00" },
            ],
        ),
        (
            "ugc_brands",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "user_id": &brand_old, "company_name": "Marca SA", "logo_url": "https://example.com/logo.png", "created_at": "2024-01-05T10:00:00" },
            ],
        ),
        (
            "ugc_packages",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "name": "Básico", "price": 500_000.0, "campaigns_per_month": 2 },
            ],
        ),
        (
            "ugc_campaigns",
            vec![
                doc! { "_id": ObjectId::new(), "id": &campaign, "brand_id": &brand_old, "title": "Verano", "budget": 1_000_000.0, "status": "active", "created_at": "2024-02-01T10:00:00" },
            ],
        ),
        (
            "ugc_applications",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "campaign_id": &campaign, "creator_id": &creator_old, "status": "pending" },
                // To a campaign the old back end deleted: refused.
                doc! { "_id": ObjectId::new(), "id": uuid(), "campaign_id": uuid(), "creator_id": &creator_old, "status": "pending" },
            ],
        ),
        (
            "ugc_deliverables",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "campaign_id": &campaign, "creator_id": &creator_old, "post_url": "https://instagram.com/p/abc" },
            ],
        ),
        (
            "ugc_metrics",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "campaign_id": &campaign, "views": 1200, "likes": 80 },
            ],
        ),
        (
            "ugc_ratings",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "creator_id": &creator_old, "rating": 4.5 },
            ],
        ),
        (
            "ugc_notifications",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "user_id": &creator_old, "message": "Nueva campaña", "read": false },
            ],
        ),
        (
            "shop_products_grouped",
            vec![
                doc! { "_id": ObjectId::new(), "model": "vestido", "products": [&seeded.products[0]] },
            ],
        ),
        (
            "reservations",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "user_id": &seeded.customers[2].1, "date": "2024-06-01", "time": "10:00", "duration": 2, "status": "confirmed" },
                // A status only the studio knows the meaning of: refused.
                doc! { "_id": ObjectId::new(), "id": uuid(), "user_id": &seeded.customers[3].1, "date": "2024-06-02", "time": "11:00", "duration": 1, "status": "en_espera" },
            ],
        ),
        (
            "admin_settings",
            vec![doc! { "_id": ObjectId::new(), "key": "store_name", "value": "Avenue" }],
        ),
        (
            "page_content",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "page": "home", "sections": [{ "type": "hero", "image": "/api/uploads/hero.jpg" }] },
                doc! { "_id": ObjectId::new(), "id": uuid(), "page": "Sobre nosotros", "sections": [
                    { "type": "heading", "text": "Quiénes somos" },
                    { "type": "paragraph", "content": "Moda desde Asunción." },
                ] },
                // A section kind no block stands for: refused.
                doc! { "_id": ObjectId::new(), "id": uuid(), "page": "promo", "sections": [{ "type": "countdown", "until": "2024-12-24" }] },
            ],
        ),
        (
            "audit_logs",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "action": "login", "user_id": &seeded.customers[0].1, "timestamp": "2024-01-01T00:00:00" },
            ],
        ),
        (
            "email_logs",
            vec![
                doc! { "_id": ObjectId::new(), "id": uuid(), "to": "customer0@example.com", "subject": "Pedido", "status": "sent", "sent_at": "2024-01-01T00:00:00" },
                // Queued and never sent by the old back end.
                doc! { "_id": ObjectId::new(), "id": uuid(), "to": "customer1@example.com", "subject": "Reserva", "status": "pending", "created_at": "2024-01-02T00:00:00" },
            ],
        ),
    ];
    for collection in [
        "ugc_applications",
        "reservations",
        "admin_settings",
        "page_content",
    ] {
        seeded.refuse(collection);
    }
    for (collection, docs) in others {
        seeded.count(collection, docs.len());
        insert(db, collection, docs).await;
    }
    seeded
}

/// A progress display that shows nothing.
pub struct Silent;

impl avenue_shared::progress::Progress for Silent {
    fn start(&self, _: u64, _: u64) {}
    fn advance(&self, _: u64) {}
    fn failed(&self, _: &str, _: &str) {}
    fn finish(&self) {}
}

/// `adopt-data`'s dry run over a database only the api wrote: every
/// converter must take every document as ours, or adoption would rewrite
/// (or refuse) the new system's own records.
pub async fn assert_adoption_leaves_ours_alone(db: &mongodb::Database) {
    let options = avenue_api::adopt::run::Options::default();
    let mut report = Vec::new();
    let summaries = avenue_api::adopt::run::run(db, &options, &Silent, &mut report)
        .await
        .expect("adopt-data runs");
    for s in summaries.iter().filter(|s| s.converter) {
        assert_eq!(
            (s.convertible, s.refused),
            (0, 0),
            "{} has documents the api wrote that adopt-data would change: {:?}",
            s.collection,
            s.examples
        );
    }
    assert!(report.is_empty(), "{}", String::from_utf8_lossy(&report));
}
