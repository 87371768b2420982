//! Finds the face detection model the `rustface` crate ships (SeetaFace's
//! frontal detector, `model/seeta_fd_frontal_v1.0.bin` in its package), so
//! the binary embeds it: it comes from crates.io with the code that reads
//! it, and nothing is fetched or copied by hand.

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=Cargo.toml");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--manifest-path",
        ])
        .arg(PathBuf::from(&manifest).join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON");
    let package = metadata["packages"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["name"] == "rustface")
        .expect("rustface is a dependency");
    let manifest_path = PathBuf::from(package["manifest_path"].as_str().expect("a manifest path"));
    let model = manifest_path
        .parent()
        .expect("the package folder")
        .join("model/seeta_fd_frontal_v1.0.bin");
    assert!(model.exists(), "{} is missing", model.display());
    println!("cargo:rustc-env=AVENUE_FACE_MODEL={}", model.display());
}
