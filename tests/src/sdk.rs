//! Delivery URLs written by Cloudinary's official SDKs (npm `cloudinary`
//! into `.sdk/`, PyPI `cloudinary` into the scripts' venv, both pinned in
//! `scripts/common.sh` and installed by `make test`), so tests request
//! what a front end built for Cloudinary requests, not what we think it
//! does.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The path and query (`/image/upload/...?_a=...`) that
/// `cloudinary.url(public_id, options)` writes, signed with `secret` when
/// the options say `sign_url`.
///
/// # Panics
/// When Node or the SDK is missing (run the tests with `make test`).
pub fn node_url(public_id: &str, options: &serde_json::Value, secret: &str) -> String {
    let mut node = Command::new("node");
    node.arg(root().join("scripts/cloudinary_url.js"))
        .args([secret, public_id, &options.to_string()])
        .env("NODE_PATH", sdk_modules());
    written(node)
}

/// The path CldImage's loader (`@cloudinary-util/url-loader`) builds for
/// `options` (`src` is the public id): unsigned, as a browser writes it.
///
/// # Panics
/// When Node or the package is missing (run the tests with `make test`).
pub fn loader_url(options: &serde_json::Value) -> String {
    let mut node = Command::new("node");
    node.arg(root().join("scripts/cloudinary_loader.js"))
        .arg(options.to_string())
        .env("NODE_PATH", sdk_modules());
    written(node)
}

/// The URL `@cloudinary/url-gen` builds for `public_id` from `actions`,
/// each one call of its builders (see `scripts/cloudinary_urlgen.js`):
/// unsigned, as an app written with url-gen writes it in the browser.
///
/// # Panics
/// When Node or the package is missing (run the tests with `make test`).
pub fn urlgen_url(public_id: &str, actions: &serde_json::Value) -> String {
    let mut node = Command::new("node");
    node.arg(root().join("scripts/cloudinary_urlgen.js"))
        .args([public_id, &actions.to_string()])
        .env("NODE_PATH", sdk_modules());
    written(node)
}

/// What a `<NuxtImg provider="cloudinary">` with `props` puts on its
/// `<img>`, written by Nuxt Image's own runtime and Cloudinary provider
/// (see `scripts/nuxt_image.mjs`): unsigned, paths only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NuxtImg {
    pub src: String,
    /// (path, descriptor such as `640w` or `2x`), in Nuxt's order.
    pub srcset: Vec<(String, String)>,
}

/// # Panics
/// When Node or the package is missing (run the tests with `make test`).
pub fn nuxt_img(props: &serde_json::Value) -> NuxtImg {
    let mut node = Command::new("node");
    node.arg(root().join("scripts/nuxt_image.mjs"))
        .arg(props.to_string())
        .env("NODE_PATH", sdk_modules());
    let rendered: serde_json::Value =
        serde_json::from_str(&printed(node)).expect("Nuxt Image prints JSON");
    let srcset = rendered["srcset"]
        .as_str()
        .unwrap_or_default()
        .split(", ")
        .filter_map(|candidate| candidate.rsplit_once(' '))
        .map(|(url, descriptor)| (delivery_path(url), descriptor.to_owned()))
        .collect();
    NuxtImg {
        src: delivery_path(rendered["src"].as_str().unwrap_or_default()),
        srcset,
    }
}

fn sdk_modules() -> PathBuf {
    std::env::var_os("AVENUE_TEST_SDK_DIR")
        .map_or_else(|| root().join(".sdk"), PathBuf::from)
        .join("node_modules")
}

/// What the Python SDK's `cloudinary_url(public_id, **options)` writes.
///
/// # Panics
/// When the venv is missing (run the tests with `make test`).
pub fn python_url(public_id: &str, options: &serde_json::Value, secret: &str) -> String {
    let mut python = Command::new(root().join(".venv-mongo/bin/python"));
    python.arg(root().join("scripts/cloudinary_url.py")).args([
        secret,
        public_id,
        &options.to_string(),
    ]);
    written(python)
}

/// The delivery path (`/image/upload/...`) a URL writer prints.
fn written(sdk: Command) -> String {
    delivery_path(&printed(sdk))
}

/// What a URL writer printed, once it succeeded.
pub(crate) fn printed(mut sdk: Command) -> String {
    let output = sdk
        .output()
        .expect("the URL writer runs: run the tests with `make test`, which installs them");
    assert!(
        output.status.success(),
        "the SDK failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("text")
}

/// The path of a URL written for the `avenue` cloud.
fn delivery_path(url: &str) -> String {
    url.strip_prefix("https://res.cloudinary.com/avenue")
        .unwrap_or_else(|| panic!("not a delivery URL: {url}"))
        .to_owned()
}
