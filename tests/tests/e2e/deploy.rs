//! The deploy files, tested so they cannot drift: docker-compose.yml's
//! environments start the real binaries in production mode, the Dockerfile
//! installs the build's packages from the list `make` uses, and the
//! Kubernetes manifests validate against the schemas.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use avenue_tests::chaos::{free_port, seconds_until_ready, ServiceProcess};
use avenue_tests::{binary, fixtures, mongo_uri, unique_db};
use reqwest::Method;
use serde_json::{json, Value};
use yaml_rust2::{Yaml, YamlLoader};

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// `${VAR:?message}`, `${VAR:-default}` and `${VAR}` as compose reads
/// them, from `supplied`; a required one nobody supplied is an error.
fn interpolate(raw: &str, supplied: &HashMap<&str, String>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find('}')
            .ok_or_else(|| format!("unclosed ${{ in {raw}"))?
            + start;
        let inner = &rest[start + 2..end];
        let value = if let Some((name, message)) = inner.split_once(":?") {
            supplied
                .get(name)
                .cloned()
                .ok_or_else(|| format!("{name} is required: {message}"))?
        } else if let Some((name, default)) = inner.split_once(":-") {
            supplied
                .get(name)
                .cloned()
                .unwrap_or_else(|| default.to_owned())
        } else {
            supplied.get(inner).cloned().unwrap_or_default()
        };
        out.push_str(&value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn scalar(value: &Yaml) -> String {
    match value {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(n) => n.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        other => panic!("not a scalar: {other:?}"),
    }
}

/// A service's `environment`, merge keys (`<<: *anchor`) first.
fn environment(compose: &Yaml, service: &str) -> BTreeMap<String, String> {
    let env = &compose["services"][service]["environment"];
    let mut out = BTreeMap::new();
    let Yaml::Hash(entries) = env else {
        panic!("services.{service}.environment is not a mapping");
    };
    if let Some(Yaml::Hash(merged)) = entries.get(&Yaml::String("<<".into())) {
        for (k, v) in merged {
            out.insert(scalar(k), scalar(v));
        }
    }
    for (k, v) in entries {
        let key = scalar(k);
        if key != "<<" {
            out.insert(key, scalar(v));
        }
    }
    out
}

/// The compose environment of `service`, interpolated, with the other
/// services' host names and the database pointed at this test's.
fn runnable_env(
    compose: &Yaml,
    service: &str,
    supplied: &HashMap<&str, String>,
    hosts: &[(&str, String)],
    db_name: &str,
) -> BTreeMap<String, String> {
    environment(compose, service)
        .into_iter()
        .map(|(key, raw)| {
            let mut value = interpolate(&raw, supplied)
                .unwrap_or_else(|e| panic!("docker-compose.yml, {service}.{key}: {e}"));
            for (from, to) in hosts {
                value = value.replace(from, to);
            }
            let value = match key.as_str() {
                "MONGODB_URI" => mongo_uri(),
                "MONGODB_DB" => db_name.to_owned(),
                _ => value,
            };
            (key, value)
        })
        .collect()
}

#[tokio::test]
async fn the_compose_environments_start_the_real_binaries_in_production() {
    let compose = YamlLoader::load_from_str(&read("docker-compose.yml"))
        .expect("docker-compose.yml is YAML")
        .remove(0);
    let supplied: HashMap<&str, String> = [
        (
            "AVENUE_JWT_SECRET",
            uuid::Uuid::new_v4().simple().to_string(),
        ),
        (
            "MEDIA_SIGNING_SECRET",
            uuid::Uuid::new_v4().simple().to_string(),
        ),
        ("MEDIA_PUBLIC_URL", "https://cdn.avenue.test".to_owned()),
    ]
    .into_iter()
    .collect();
    let (media_port, api_port) = (free_port(), free_port());
    let hosts = [
        ("0.0.0.0:8081", format!("127.0.0.1:{media_port}")),
        ("0.0.0.0:8080", format!("127.0.0.1:{api_port}")),
        ("media:8081", format!("127.0.0.1:{media_port}")),
        ("api:8080", format!("127.0.0.1:{api_port}")),
    ];
    let db_name = unique_db();
    let media_env = runnable_env(&compose, "media", &supplied, &hosts, &db_name);
    let api_env = runnable_env(&compose, "api", &supplied, &hosts, &db_name);
    for env in [&media_env, &api_env] {
        assert_eq!(
            env.get("AVENUE_ENV").map(String::as_str),
            Some("production")
        );
    }

    // A setting production requires and compose forgets makes a binary
    // exit here, which fails the test with what it said.
    let media = ServiceProcess::start_with_only("avenue-media", &media_env).await;
    let api = ServiceProcess::start_with_only("avenue-api", &api_env).await;
    assert_eq!((media.port, api.port), (media_port, api_port));
    for service in [&media, &api] {
        assert!(
            seconds_until_ready(&service.url("/readyz"), std::time::Duration::from_secs(60))
                .await
                .is_some(),
            "{} is not ready",
            service.url("/readyz")
        );
    }

    // An admin made with the same environment, a product with an image:
    // its URL is the public media address, not the container's.
    let created = tokio::process::Command::new(binary("avenue-api"))
        .env_clear()
        .envs(&api_env)
        .env("AVENUE_ADMIN_PASSWORD", "compose admin password")
        .args(["create-admin", "--email", "ops@avenue.test"])
        .output()
        .await
        .expect("create-admin runs");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let http = reqwest::Client::new();
    let session: Value = http
        .post(api.url("/api/auth/login"))
        .json(&json!({ "email": "ops@avenue.test", "password": "compose admin password" }))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("session");
    let token = session["access_token"].as_str().expect("token").to_owned();
    let uploaded: Value = http
        .post(api.url("/api/uploads"))
        .bearer_auth(&token)
        .multipart(reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(fixtures::png(9, 7, 3)).file_name("coat.png"),
        ))
        .send()
        .await
        .expect("upload")
        .json()
        .await
        .expect("uploaded");
    let image = uploaded["id"].as_str().expect("media id");
    let product = http
        .request(Method::POST, api.url("/api/shop/products"))
        .bearer_auth(&token)
        .json(
            &json!({ "name": "Compose coat", "sku": "COMPOSE-1", "price": 1000, "stock": 1,
                       "image_ids": [image], "status": "published" }),
        )
        .send()
        .await
        .expect("create product");
    assert_eq!(product.status(), 201);
    let product: Value = product.json().await.expect("product");
    let url = product["image_urls"][0].as_str().expect("an image URL");
    assert!(url.starts_with("https://cdn.avenue.test/"), "{url}");
    assert!(
        uploaded["url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://cdn.avenue.test/")),
        "{uploaded}"
    );
}

#[test]
fn a_required_setting_compose_lacks_is_named() {
    let supplied = HashMap::new();
    let err = interpolate("${MEDIA_SIGNING_SECRET:?set it}", &supplied).expect_err("required");
    assert!(err.contains("MEDIA_SIGNING_SECRET"), "{err}");
    assert_eq!(
        interpolate("a-${X:-b}-c", &supplied).expect("default"),
        "a-b-c"
    );
}

#[test]
fn the_dockerfile_installs_the_build_packages_make_installs() {
    let dockerfile = read("Dockerfile");
    let build_stage = dockerfile.split("\nFROM ").nth(1).expect("a build stage");
    assert!(
        build_stage.contains("COPY scripts/build-deps.txt")
            && build_stage.contains("/tmp/build-deps.txt")
            && build_stage.contains("xargs apt-get install"),
        "the Dockerfile's build stage must install scripts/build-deps.txt:\n{build_stage}"
    );
    let copy_all = build_stage.find("COPY . .").expect("sources copied");
    let install = build_stage.find("xargs apt-get install").expect("install");
    assert!(
        install < copy_all,
        "packages before sources, so the layer caches"
    );
    let common = read("scripts/common.sh");
    assert!(common.contains("scripts/build-deps.txt"));
    let packages: Vec<String> = read("scripts/build-deps.txt")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap_or_default().to_owned())
        .collect();
    for needed in ["cmake", "nasm", "libheif-dev"] {
        assert!(
            packages.iter().any(|p| p == needed),
            "{needed} in {packages:?}"
        );
    }
}

/// The runtime image must carry the shared libraries the binaries link:
/// a build that links libheif and an image without it would not start.
#[test]
fn the_runtime_image_installs_the_libraries_media_links() {
    let dockerfile = read("Dockerfile");
    let runtime = dockerfile
        .rsplit("\nFROM ")
        .next()
        .expect("a runtime stage");
    let linked = std::process::Command::new("ldd")
        .arg(avenue_tests::binary("avenue-media"))
        .output()
        .expect("ldd runs");
    let linked = String::from_utf8_lossy(&linked.stdout).into_owned();
    assert!(
        linked.contains("libheif.so.1"),
        "media decodes HEIC through libheif: {linked}"
    );
    assert!(
        runtime.contains("libheif1"),
        "the runtime stage must install libheif1:\n{runtime}"
    );
}

#[tokio::test]
async fn the_kubernetes_manifests_validate_against_the_schemas() {
    let python = repo_file(".venv-mongo/bin/python");
    assert!(
        python.exists(),
        "run the tests with `make test`, which creates the venv"
    );
    let checked = tokio::process::Command::new(python)
        .arg(repo_file("scripts/validate_k8s.py"))
        .arg(repo_file("deploy/k8s"))
        .output()
        .await
        .expect("validate_k8s.py runs");
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(
        checked.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    assert!(said.contains("valid against Kubernetes"), "{said}");
}
