//! Bringing the old data home, end to end with the real binaries: a
//! generated uploads folder (images, a non-image, a duplicate) and a legacy
//! collection (base64, binary and data-URI documents, some corrupt), with
//! products, a page and a setting that name them the old way. After
//! import-dir, import-collection and rewrite-media-refs: every reference
//! resolves, every byte matches, a second run changes nothing, and an
//! interrupted import finishes when run again.

use std::collections::HashMap;
use std::path::Path;

use avenue_tests::api::{spawn_stack, Stack};
use avenue_tests::fixtures::{self, sha256_hex};
use avenue_tests::scratch::ScratchDir;
use avenue_tests::{binary, media_command, mongo_uri};
use base64::Engine;
use mongodb::bson::{doc, oid::ObjectId, Binary, DateTime, Document};
use reqwest::Method;
use serde_json::Value;

fn mapping(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("mapping line"))
        .collect()
}

fn api_command(stack: &Stack, args: &[&str]) -> tokio::process::Command {
    let mut command = tokio::process::Command::new(binary("avenue-api"));
    command
        .args(args)
        .env("MONGODB_URI", mongo_uri())
        .env("MONGODB_DB", stack.api.db.name())
        .env("MEDIA_URL", stack.media.url(""))
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    command
}

fn product(name: &str, sku: &str, legacy: Document) -> Document {
    let now = DateTime::now();
    let mut product = doc! {
        "_id": ObjectId::new(), "name": name, "slug": sku.to_lowercase(), "sku": sku, "description": "",
        "price": 100_000_i64, "currency": "PYG", "stock": 3_i64, "sizes": [], "colors": [],
        "image_ids": [], "status": "published", "created_at": now, "updated_at": now,
    };
    product.extend(legacy);
    product
}

#[tokio::test]
async fn legacy_files_and_documents_come_home_and_every_reference_resolves() {
    let stack = spawn_stack().await;
    let db = stack.api.db.clone();
    let folder = ScratchDir::new("legacy");
    let a = fixtures::png(9, 7, 1);
    let b = fixtures::jpeg(12, 8, 2);
    let hero = fixtures::webp(10, 6, 3);
    let nested = fixtures::gif(4, 4, 4);
    folder.write("products/a.png", &a);
    folder.write("products/b.jpg", &b);
    folder.write("pages/hero.webp", &hero);
    folder.write("old/deep/unused.gif", &nested);
    folder.write("copies/a-again.png", &a);
    folder.write("notes.txt", b"not an image");
    let by_path: HashMap<&str, &[u8]> = [
        ("products/a.png", a.as_slice()),
        ("products/b.jpg", b.as_slice()),
        ("pages/hero.webp", hero.as_slice()),
        ("old/deep/unused.gif", nested.as_slice()),
        ("copies/a-again.png", a.as_slice()),
    ]
    .into_iter()
    .collect();

    // The legacy collection: base64, binary, a data URI, and three it cannot read.
    let p2 = ObjectId::new();
    let c = fixtures::png(6, 6, 5);
    let d = fixtures::png(6, 6, 6);
    let e = fixtures::jpeg(6, 6, 7);
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let legacy = db.collection::<Document>("product_images_data");
    legacy.insert_many([
        doc! { "product_id": p2, "filename": "c.png", "content_type": "image/png", "data": b64(&c) },
        doc! { "product_id": p2, "filename": "d.png", "content_type": "image/png",
               "data": Binary { subtype: mongodb::bson::spec::BinarySubtype::Generic, bytes: d.clone() } },
        doc! { "product_id": p2, "filename": "e.jpg", "data": format!("data:image/jpeg;base64,{}", b64(&e)) },
        doc! { "product_id": p2, "filename": "broken", "data": "%%% not base64 %%%" },
        doc! { "product_id": p2, "filename": "number", "data": 42 },
        doc! { "product_id": p2, "filename": "text", "data": b64(b"plain text, not an image") },
    ]).await.expect("legacy documents");

    let p1 = product(
        "Vestido",
        "VES-1",
        doc! { "images": [
        "/api/uploads/products/a.png", "https://old.avenue.com.py/uploads/products/b.jpg" ] },
    );
    let p1_id = p1.get_object_id("_id").expect("id");
    let mut p2_doc = product("Falda", "FAL-1", doc! {});
    p2_doc.insert("_id", p2);
    let lost = product(
        "Perdido",
        "PER-1",
        doc! { "image_url": "/api/uploads/never/existed.png" },
    );
    db.collection::<Document>("shop_products")
        .insert_many([p1, p2_doc, lost.clone()])
        .await
        .expect("products");
    let legacy_blocks = vec![
        doc! { "type": "image", "url": "/uploads/pages/hero.webp" },
        doc! { "type": "gallery", "images": ["/api/uploads/products/a.png", "/api/uploads/products/b.jpg"] },
    ];
    let page_id = ObjectId::new();
    let now = DateTime::now();
    db.collection::<Document>("page_content").insert_one(doc! {
        "_id": page_id, "slug": "home", "title": "Inicio", "blocks": legacy_blocks.clone(), "version": 1_i64,
        "status": "published",
        "published": { "version": 1_i64, "title": "Inicio", "blocks": legacy_blocks, "saved_at": now, "saved_by": ObjectId::new() },
        "history": [], "created_at": now, "updated_at": now,
    }).await.expect("page");
    db.collection::<Document>("admin_settings")
        .insert_one(doc! { "_id": "site.logo_media_id", "value": "/api/uploads/products/b.jpg" })
        .await
        .expect("setting");

    // 1. The folder.
    let dir_map = folder.path().join("dir.jsonl");
    let import = media_command(
        &stack.media.db_name,
        None,
        &[
            "import-dir",
            folder.path().to_str().expect("utf-8"),
            "--mapping",
            dir_map.to_str().expect("utf-8"),
        ],
    )
    .output()
    .await
    .expect("import-dir");
    let summary = String::from_utf8_lossy(&import.stdout).into_owned();
    assert!(
        import.status.success(),
        "{summary} {}",
        String::from_utf8_lossy(&import.stderr)
    );
    assert!(summary.starts_with("import-dir: 4 imported"), "{summary}");
    assert!(summary.contains("1 already there, 1 skipped"), "{summary}");
    assert!(
        String::from_utf8_lossy(&import.stderr).contains("notes.txt"),
        "the skip says why"
    );
    let lines = mapping(&dir_map);
    assert_eq!(lines.len(), 5);
    for line in &lines {
        let path = line["path"].as_str().expect("path");
        assert_eq!(line["sha256"], sha256_hex(by_path[path]), "{path}");
        let delivered = stack
            .media
            .fetch(
                &format!(
                    "/image/upload/{}",
                    line["url"]
                        .as_str()
                        .expect("url")
                        .rsplit('/')
                        .next()
                        .expect("file")
                ),
                &[],
            )
            .await;
        assert_eq!(
            sha256_hex(&delivered.bytes().await.expect("bytes")),
            sha256_hex(by_path[path])
        );
    }
    assert!(lines.iter().any(|l| l["old_urls"]
        .as_array()
        .expect("urls")
        .contains(&Value::from("/uploads/products/a.png"))));

    // 2. The collection: three imported, three reported, a non-zero exit.
    let col_map = folder.path().join("col.jsonl");
    let imported = media_command(
        &stack.media.db_name,
        None,
        &[
            "import-collection",
            "product_images_data",
            "--mapping",
            col_map.to_str().expect("utf-8"),
        ],
    )
    .output()
    .await
    .expect("import-collection");
    let summary = String::from_utf8_lossy(&imported.stdout).into_owned();
    assert!(
        !imported.status.success(),
        "corrupt documents make the exit non-zero"
    );
    assert!(
        summary.starts_with("import-collection: 3 imported"),
        "{summary}"
    );
    assert!(summary.contains("3 failed"), "{summary}");
    let stderr = String::from_utf8_lossy(&imported.stderr);
    assert!(
        stderr.contains("not valid base64") && stderr.contains("not bytes"),
        "{stderr}"
    );
    let col_lines = mapping(&col_map);
    let shas: Vec<&str> = col_lines
        .iter()
        .filter_map(|l| l["sha256"].as_str())
        .collect();
    for bytes in [&c, &d, &e] {
        assert!(shas.contains(&sha256_hex(bytes).as_str()));
    }
    // The operator sees which old documents are in media and which are left.
    let operator = stack.api.admin().await;
    let status = stack
        .api
        .expect(
            200,
            Method::GET,
            "/api/shop/debug/storage-status",
            Some(&operator.token),
            None,
        )
        .await;
    let old_images = &status["old_image_collections"]["product_images_data"];
    assert_eq!(
        (old_images["imported"].as_u64(), old_images["left"].as_u64()),
        (Some(3), Some(3)),
        "{status}"
    );

    // 3. The rewrite: a dry run changes nothing, then --apply.
    let maps = [
        "rewrite-media-refs",
        "--mapping",
        dir_map.to_str().expect("utf-8"),
        "--mapping",
        col_map.to_str().expect("utf-8"),
    ];
    let dry = api_command(&stack, &maps).output().await.expect("dry run");
    let report = String::from_utf8_lossy(&dry.stdout).into_owned();
    assert!(
        !dry.status.success(),
        "the product whose file never existed stays unresolved: {report}"
    );
    assert!(
        report.contains("! shop_products") && report.contains("never/existed.png"),
        "{report}"
    );
    assert!(
        report.contains(&format!("~ shop_products {}: images[0]", p1_id.to_hex())),
        "{report}"
    );
    assert!(report.contains("dry run"), "{report}");
    assert_eq!(
        db.collection::<Document>("shop_products")
            .count_documents(doc! { "images.0": { "$exists": true } })
            .await
            .expect("count"),
        1
    );
    // The lost product is fixed by hand; then everything resolves.
    db.collection::<Document>("shop_products")
        .update_one(
            doc! { "_id": lost.get_object_id("_id").expect("id") },
            doc! { "$unset": { "image_url": "" } },
        )
        .await
        .expect("fix");
    let mut args = maps.to_vec();
    args.push("--apply");
    let applied = api_command(&stack, &args).output().await.expect("apply");
    let report = String::from_utf8_lossy(&applied.stdout).into_owned();
    assert!(
        applied.status.success(),
        "{report} {}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert!(report.contains("applied"), "{report}");

    // Every reference resolves and every byte matches.
    let admin = stack.api.admin().await;
    let status = stack
        .api
        .expect(
            200,
            Method::GET,
            "/api/shop/debug/products-status",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status["missing_media"], serde_json::json!([]));
    assert_eq!(status["legacy_references"], 0);
    assert_eq!(status["with_images"], 2);
    let storage = stack
        .api
        .expect(
            200,
            Method::GET,
            "/api/shop/debug/storage-status",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(storage["references"]["products_with_images"], 2);
    assert_eq!(storage["legacy_references_left"]["pages"], 0);
    let vestido = stack
        .api
        .expect(
            200,
            Method::GET,
            &format!("/api/shop/products/{}", p1_id.to_hex()),
            None,
            None,
        )
        .await;
    let ids: Vec<String> = vestido["image_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 2);
    for (id, bytes) in ids.iter().zip([&a, &b]) {
        let media: Value = stack
            .media
            .admin(Method::GET, &format!("/v1/media/{id}"))
            .send()
            .await
            .expect("answer")
            .json()
            .await
            .expect("json");
        assert_eq!(media["sha256"], sha256_hex(bytes));
        let refs = media["refs"].as_array().expect("refs");
        assert!(
            refs.contains(&Value::from(format!("shop_products:{}", p1_id.to_hex()))),
            "{refs:?}"
        );
    }
    let falda = stack
        .api
        .expect(
            200,
            Method::GET,
            &format!("/api/shop/products/{}", p2.to_hex()),
            None,
            None,
        )
        .await;
    assert_eq!(
        falda["image_ids"].as_array().expect("ids").len(),
        3,
        "the legacy documents of the product"
    );
    let page = stack
        .api
        .expect(200, Method::GET, "/api/pages/home", None, None)
        .await;
    assert_eq!(page["blocks"][0]["type"], "image");
    assert!(page["blocks"][0]["media_id"].is_string());
    assert_eq!(
        page["blocks"][1]["media_ids"]
            .as_array()
            .expect("gallery")
            .len(),
        2
    );
    let settings = stack
        .api
        .expect(200, Method::GET, "/api/settings/public", None, None)
        .await;
    assert_eq!(settings["site.logo_media_id"], ids[1]);

    // 4. Second runs change nothing.
    let again = media_command(
        &stack.media.db_name,
        None,
        &[
            "import-dir",
            folder.path().to_str().expect("utf-8"),
            "--mapping",
            dir_map.to_str().expect("utf-8"),
        ],
    )
    .output()
    .await
    .expect("import-dir again");
    assert!(String::from_utf8_lossy(&again.stdout).starts_with("import-dir: 0 imported"));
    let media_before = stack.media.count("media", doc! {}).await;
    let reapplied = api_command(&stack, &args)
        .output()
        .await
        .expect("apply again");
    let report = String::from_utf8_lossy(&reapplied.stdout).into_owned();
    assert!(reapplied.status.success(), "{report}");
    assert!(
        report.contains("rewrite-media-refs: 0 record(s)"),
        "{report}"
    );
    assert_eq!(stack.media.count("media", doc! {}).await, media_before);

    // 5. Imports are library assets: even the unused GIF outlives a sweep
    // whose clocks have all run out.
    let sweep = media_command(&stack.media.db_name, None, &["sweep"])
        .env("MEDIA_PENDING_TTL", "0")
        .output()
        .await
        .expect("sweep");
    let swept = String::from_utf8_lossy(&sweep.stdout).into_owned();
    assert!(sweep.status.success(), "{swept}");
    assert!(swept.contains("removed 0 unclaimed upload"), "{swept}");
    assert_eq!(stack.media.count("media", doc! {}).await, media_before);
    let status = stack
        .api
        .expect(
            200,
            Method::GET,
            "/api/shop/debug/products-status",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(status["missing_media"], serde_json::json!([]));
    stack.stop().await;
}

#[tokio::test]
async fn an_interrupted_import_finishes_when_run_again() {
    let stack = spawn_stack().await;
    let folder = ScratchDir::new("legacy");
    let total = 40;
    for i in 0..total {
        folder.write(
            &format!("bulk/{i:03}.png"),
            &fixtures::noise_png(160, 160, i),
        );
    }
    let map = folder.path().join("bulk.jsonl");
    let mut first = media_command(
        &stack.media.db_name,
        None,
        &[
            "import-dir",
            folder.path().to_str().expect("utf-8"),
            "--mapping",
            map.to_str().expect("utf-8"),
        ],
    )
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null())
    .spawn()
    .expect("start");
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while mapping(&map).len() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    first.kill().await.expect("SIGKILL");
    let partial = stack.media.count("media", doc! {}).await;
    assert!(
        partial >= 3 && partial < total,
        "killed part-way: {partial}"
    );

    let second = media_command(
        &stack.media.db_name,
        None,
        &[
            "import-dir",
            folder.path().to_str().expect("utf-8"),
            "--mapping",
            map.to_str().expect("utf-8"),
        ],
    )
    .output()
    .await
    .expect("second run");
    let summary = String::from_utf8_lossy(&second.stdout).into_owned();
    assert!(second.status.success(), "{summary}");
    // What the killed run stored is only looked up: found, not stored again.
    // (Not exactly `partial`: its last write may land after the count.)
    let existing: u64 = summary
        .split(", ")
        .find_map(|part| part.strip_suffix(" already there"))
        .and_then(|n| n.parse().ok())
        .expect("a count of media already there");
    assert!(existing >= 3 && existing < total, "{summary}");
    assert!(summary.contains("0 failed"), "{summary}");
    assert_eq!(stack.media.count("media", doc! {}).await, total);
    let lines = mapping(&map);
    assert_eq!(lines.len() as u64, total, "the mapping is complete");
    for line in &lines {
        let path = folder.path().join(line["path"].as_str().expect("path"));
        assert_eq!(
            line["sha256"],
            sha256_hex(&std::fs::read(path).expect("file"))
        );
    }
    stack.stop().await;
}
