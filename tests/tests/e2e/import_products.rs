//! `avenue-api import-products FILE`: the ERP's list upserted by SKU, a
//! dry run first, refused rows named by line, idempotent, the storefront's
//! groups rebuilt once.

use std::path::{Path, PathBuf};

use avenue_tests::api::spawn_stack;
use avenue_tests::scratch::ScratchDir;
use avenue_tests::{binary, mongo_uri};
use mongodb::bson::doc;
use reqwest::Method;
use serde_json::Value;

struct Run {
    ok: bool,
    stdout: String,
}

async fn import(db: &str, file: &Path, apply: bool) -> Run {
    let mut command = tokio::process::Command::new(binary("avenue-api"));
    command
        .arg("import-products")
        .arg(file)
        .env("MONGODB_URI", mongo_uri())
        .env("MONGODB_DB", db)
        .env("RUST_LOG", "warn")
        .kill_on_drop(true);
    if apply {
        command.arg("--apply");
    }
    let output = command.output().await.expect("runs");
    // Seen once in 168 runs: the driver panicked at exit after a correct
    // run, its client dropped under its own tasks. Every run here is held
    // to a clean exit.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

fn scratch(folder: &ScratchDir, name: &str, text: &str) -> PathBuf {
    folder.write(name, text.as_bytes())
}

#[tokio::test]
async fn products_import_from_the_erp_by_sku() {
    let stack = spawn_stack().await;
    let folder = ScratchDir::new("import");
    let api = &stack.api;
    let db = api.db.name().to_owned();
    let admin = api.admin().await;
    let existing = stack.published(&admin, "VES-1", 150_000, 3).await;
    let csv = scratch(
        &folder,
        "erp.csv",
        "sku,name,price,stock,model,sizes,colors,status\n\
         VES-1,Product VES-1,160.000,3,,,,\n\
         FAL-1,Falda roja,90000,5,falda,S|M,rojo,published\n\
         FAL-2,Falda azul,80000,2,falda,S,azul,published\n\
         BAD-1,Sin precio,,1,,,,\n\
         FAL-1,Duplicada,1,1,,,,\n",
    );

    // A dry run says everything and writes nothing.
    let dry = import(&db, &csv, false).await;
    assert!(
        !dry.ok,
        "refused rows make the exit status 1:\n{}",
        dry.stdout
    );
    for expected in [
        "line 2: VES-1: price 150000 → 160000",
        "line 3: FAL-1: new",
        "line 5: refused: price: missing",
        "line 6: refused: sku FAL-1 is also on line 3",
        "5 row(s): 2 new, 1 changed (price 1), 0 unchanged, 2 refused (dry run",
    ] {
        assert!(dry.stdout.contains(expected), "{expected}\n{}", dry.stdout);
    }
    assert_eq!(api.count("shop_products", doc! {}).await, 1);
    assert_eq!(stack.stock_of(&existing).await, 3);

    let applied = import(&db, &csv, true).await;
    assert!(
        applied
            .stdout
            .contains("2 new, 1 changed (price 1), 0 unchanged, 2 refused (applied)"),
        "{}",
        applied.stdout
    );
    assert_eq!(api.count("shop_products", doc! {}).await, 3);
    let ves = api
        .expect(
            200,
            Method::GET,
            &format!("/api/shop/products/{existing}"),
            None,
            None,
        )
        .await;
    assert_eq!(ves["price"], 160_000);
    let groups = api
        .expect(200, Method::GET, "/api/shop/products-grouped", None, None)
        .await;
    let falda = groups
        .as_array()
        .and_then(|g| g.iter().find(|g| g["_id"] == "falda"))
        .expect("the falda group, rebuilt");
    assert_eq!(
        falda["products"].as_array().map(Vec::len),
        Some(2),
        "{falda}"
    );
    assert_eq!(falda["min_price"], 80_000);

    // The same file again changes nothing.
    let again = import(&db, &csv, true).await;
    assert!(
        again
            .stdout
            .contains("0 new, 0 changed (-), 3 unchanged, 2 refused"),
        "{}",
        again.stdout
    );

    // JSON lines work the same; a clean file exits 0.
    let jsonl = scratch(
        &folder,
        "erp.jsonl",
        "{\"sku\": \"FAL-2\", \"name\": \"Falda azul\", \"price\": 85000, \"stock\": 4, \"sizes\": [\"S\", \"M\"]}\n",
    );
    let json_run = import(&db, &jsonl, true).await;
    assert!(json_run.ok, "{}", json_run.stdout);
    assert!(
        json_run
            .stdout
            .contains("line 1: FAL-2: price 80000 → 85000, stock 2 → 4, sizes S → S|M"),
        "{}",
        json_run.stdout
    );
    let found = api
        .expect(
            200,
            Method::GET,
            "/api/shop/products?q=Falda%20azul",
            None,
            None,
        )
        .await;
    let fal2: Vec<&Value> = found["items"]
        .as_array()
        .map(|items| items.iter().filter(|p| p["sku"] == "FAL-2").collect())
        .unwrap_or_default();
    assert_eq!(
        fal2.first().map(|p| p["stock"].clone()),
        Some(serde_json::json!(4)),
        "{found}"
    );

    // A header it does not know stops the run before any row.
    let odd = scratch(
        &folder,
        "odd.csv",
        "sku,name,price,stock,colour\nX-1,X,1,1,red\n",
    );
    let refused = import(&db, &odd, true).await;
    assert!(!refused.ok);
    assert_eq!(api.count("shop_products", doc! { "sku": "X-1" }).await, 0);
    stack.stop().await;
}
