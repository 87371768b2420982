//! Delivery URLs written by Cloudinary's official Node SDK (npm
//! `cloudinary`, pinned in `scripts/common.sh`, installed by `make test`
//! into `.sdk/`), so tests request what a front end built for Cloudinary
//! requests, not what we think it does.

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
    let sdk = std::env::var_os("AVENUE_TEST_SDK_DIR")
        .map_or_else(|| root().join(".sdk"), PathBuf::from)
        .join("node_modules");
    let output = Command::new("node")
        .arg(root().join("scripts/cloudinary_url.js"))
        .args([secret, public_id, &options.to_string()])
        .env("NODE_PATH", &sdk)
        .output()
        .expect("node runs: install Node.js, and run the tests with `make test`");
    assert!(
        output.status.success(),
        "the SDK failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let url = String::from_utf8(output.stdout).expect("a URL");
    url.strip_prefix("https://res.cloudinary.com/avenue")
        .unwrap_or_else(|| panic!("not a delivery URL: {url}"))
        .to_owned()
}
