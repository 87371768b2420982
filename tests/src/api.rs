//! The whole stack for api tests: media and api on one fresh database, the
//! api reaching media through a proxy the test can cut; plus users of each
//! role, signed in.

use mongodb::bson::doc;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::{json, Value};

use crate::proxy::CuttableProxy;
use crate::{fixtures, mongo_uri, spawn_api_with, ApiApp, MediaApp};

pub struct Stack {
    pub media: MediaApp,
    pub api: ApiApp,
    /// Between the api and media: `cut()` makes media unreachable.
    pub media_link: CuttableProxy,
    /// Between media and the api (sign-in, whether tokens hold).
    pub api_link: CuttableProxy,
}

/// One typed request, not sent yet.
pub struct Call {
    request: RequestBuilder,
    label: String,
}

impl Call {
    /// Sends it and answers the response, whatever its status.
    pub async fn send(self) -> Response {
        crate::contract::send(self.request).await
    }

    /// Sends it, asserts the status and answers the JSON (`Null` when the
    /// body is empty).
    pub async fn expect(self, status: u16) -> Value {
        let label = self.label.clone();
        let response = self.send().await;
        let got = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(got, status, "{label}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

/// A signed-in user.
#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub email: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
}

pub async fn spawn_stack() -> Stack {
    spawn_stack_with(|_| {}).await
}

pub async fn spawn_stack_with(tweak: impl FnOnce(&mut avenue_api::Settings)) -> Stack {
    spawn_stack_on(&crate::unique_db(), tweak).await
}

/// The stack on database `db_name`, which the test may have filled first
/// (with documents the old back end wrote, say).
pub async fn spawn_stack_on(db_name: &str, tweak: impl FnOnce(&mut avenue_api::Settings)) -> Stack {
    // Each service needs the other's address at start-up: media reaches
    // the api through a link whose target is set once the api is up.
    let api_link = CuttableProxy::unbound().await;
    let api_url = format!("http://127.0.0.1:{}", api_link.port);
    let media = crate::spawn_media_on(db_name, |s| {
        s.api_url = url::Url::parse(&api_url).expect("a loopback URL");
    })
    .await;
    let media_link = CuttableProxy::start(format!("127.0.0.1:{}", media.port)).await;
    let api = spawn_api_with(
        &mongo_uri(),
        &media.db_name,
        &format!("http://127.0.0.1:{}", media_link.port),
        tweak,
    )
    .await;
    api_link.point_at(api.address.trim_start_matches("http://").to_owned());
    Stack {
        media,
        api,
        media_link,
        api_link,
    }
}

impl Stack {
    /// Uploads a small image to media and answers its id.
    pub async fn image(&self, seed: u8) -> String {
        let response = self.media.upload(fixtures::png(5, 4, seed), &[]).await;
        assert!(
            response.status().is_success(),
            "upload: {}",
            response.status()
        );
        let body: Value = response.json().await.expect("descriptor");
        body["id"].as_str().expect("id").to_owned()
    }

    /// A published product (size M) created by `admin`; answers its id.
    pub async fn published(&self, admin: &TestUser, sku: &str, price: i64, stock: i64) -> String {
        let body = self
            .api
            .expect(201, Method::POST, "/api/shop/products", Some(&admin.token),
                Some(json!({ "name": format!("Product {sku}"), "sku": sku, "price": price, "stock": stock,
                             "sizes": ["M"], "status": "published" })))
            .await;
        body["id"].as_str().expect("id").to_owned()
    }

    /// A product's stock as the public catalogue shows it.
    pub async fn stock_of(&self, id: &str) -> i64 {
        self.api
            .expect(
                200,
                Method::GET,
                &format!("/api/shop/products/{id}"),
                None,
                None,
            )
            .await["stock"]
            .as_i64()
            .expect("stock")
    }

    /// The claims media holds on `id`.
    pub async fn refs_of(&self, id: &str) -> Vec<String> {
        let response = self
            .media
            .admin(Method::GET, &format!("/v1/media/{id}"))
            .send()
            .await
            .expect("media answers");
        let body: Value = response.json().await.expect("descriptor");
        body["refs"]
            .as_array()
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| r.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn stop(self) {
        let Stack { media, api, .. } = self;
        drop(api);
        media.stop().await;
    }
}

impl ApiApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.http.request(method, self.url(path));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// Sends `body` as JSON and answers the response.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut request = self.request(method, path, token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        crate::contract::send(request).await
    }

    /// A request of the typed helpers (`place_order`, ...): sent as is, or
    /// checked against the status a test expects.
    pub fn json_call(
        &self,
        method: Method,
        path: &str,
        user: Option<&TestUser>,
        body: Option<Value>,
    ) -> Call {
        let mut request = self.request(method.clone(), path, user.map(|u| u.token.as_str()));
        if let Some(body) = body {
            request = request.json(&body);
        }
        Call {
            request,
            label: format!("{method} {path}"),
        }
    }

    /// Like [`ApiApp::call`], asserting the status and answering the JSON.
    pub async fn expect(
        &self,
        status: u16,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Value {
        let response = self.call(method.clone(), path, token, body).await;
        let got = response.status().as_u16();
        let text = response.text().await.expect("body");
        assert_eq!(got, status, "{method} {path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Registers a user of `role` (customer, brand or creator) and signs in.
    pub async fn user(&self, role: &str) -> TestUser {
        let email = format!("{role}-{}@example.com", uuid::Uuid::new_v4().simple());
        let password = "correct horse battery".to_owned();
        let session = self
            .expect(
                201,
                Method::POST,
                "/api/auth/register",
                None,
                Some(json!({ "email": email, "password": password, "name": "Test User", "role": role })),
            )
            .await;
        session_user(&session, &email, &password)
    }

    /// A user promoted to admin in the database (as `create-admin` would
    /// make one), signed in again so the token carries the role.
    pub async fn admin(&self) -> TestUser {
        let user = self.user("customer").await;
        let id = mongodb::bson::oid::ObjectId::parse_str(&user.id).expect("user id");
        self.db
            .collection::<mongodb::bson::Document>("users")
            .update_one(doc! { "_id": id }, doc! { "$set": { "role": "admin" } })
            .await
            .expect("promote");
        self.login(&user.email, &user.password).await
    }

    pub async fn login(&self, email: &str, password: &str) -> TestUser {
        let session = self
            .expect(
                200,
                Method::POST,
                "/api/auth/login",
                None,
                Some(json!({ "email": email, "password": password })),
            )
            .await;
        session_user(&session, email, password)
    }

    /// `POST /api/uploads` of a small PNG as `user`, optionally into `folder`.
    pub async fn upload(&self, user: &TestUser, seed: u8, folder: Option<&str>) -> Response {
        let mut form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(fixtures::png(7, 5, seed)).file_name("mine.png"),
        );
        if let Some(folder) = folder {
            form = form.text("folder", folder.to_owned());
        }
        crate::contract::send(
            self.request(Method::POST, "/api/uploads", Some(&user.token))
                .multipart(form),
        )
        .await
    }

    /// Like [`ApiApp::upload`], asserting success; answers the media id.
    pub async fn upload_id(&self, user: &TestUser, seed: u8) -> String {
        let response = self.upload(user, seed, None).await;
        assert_eq!(response.status(), 201, "upload as {}", user.email);
        let body: Value = response.json().await.expect("json");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Every stored document, in any collection of this stack's database
    /// (media's included), that holds one of `needles` in any case:
    /// `collection: document` lines, for an erasure to prove there are none.
    pub async fn mentions(&self, needles: &[&str]) -> Vec<String> {
        use futures::TryStreamExt;
        let needles: Vec<String> = needles.iter().map(|n| n.to_lowercase()).collect();
        let mut found = Vec::new();
        let names = self.db.list_collection_names().await.expect("collections");
        // File bytes hold no text to find.
        for name in names.into_iter().filter(|n| !n.ends_with(".chunks")) {
            let docs: Vec<mongodb::bson::Document> = self
                .db
                .collection(&name)
                .find(doc! {})
                .await
                .expect("find")
                .try_collect()
                .await
                .expect("documents");
            for document in docs {
                let text = Value::from(mongodb::bson::Bson::Document(document.clone()))
                    .to_string()
                    .to_lowercase();
                if needles.iter().any(|needle| text.contains(needle.as_str())) {
                    found.push(format!("{name}: {document}"));
                }
            }
        }
        found
    }

    pub async fn count(&self, collection: &str, filter: mongodb::bson::Document) -> u64 {
        self.db
            .collection::<mongodb::bson::Document>(collection)
            .count_documents(filter)
            .await
            .expect("count")
    }
}

/// Asserts how many of `statuses` are each expected status, as races are
/// judged: `&[(201, 2), (409, 4)]`.
pub fn assert_status_counts(statuses: &[u16], expected: &[(u16, usize)]) {
    for (status, count) in expected {
        assert_eq!(
            statuses.iter().filter(|s| *s == status).count(),
            *count,
            "{status} in {statuses:?}"
        );
    }
}

fn session_user(session: &Value, email: &str, password: &str) -> TestUser {
    TestUser {
        id: session["user"]["id"].as_str().expect("user id").to_owned(),
        email: email.to_owned(),
        password: password.to_owned(),
        token: session["access_token"]
            .as_str()
            .expect("access token")
            .to_owned(),
        refresh_token: session["refresh_token"]
            .as_str()
            .expect("refresh token")
            .to_owned(),
    }
}
