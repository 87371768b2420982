//! The independent pixel reference: Pillow (`scripts/pixel_reference.py`
//! in the scripts' venv) doing what a transformation means, step by step,
//! and a comparison that says how far our answer is from it.

use std::path::PathBuf;
use std::process::Command;

use image::{DynamicImage, GenericImageView};
use serde_json::Value;

use crate::sdk::printed;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `source` (any format Pillow reads) after `ops` (see the script), as
/// RGBA.
///
/// # Panics
/// When the venv or Pillow is missing (run the tests with `make test`),
/// or the script fails.
pub fn pillow(source: &[u8], ops: &Value) -> DynamicImage {
    let stem = std::env::temp_dir().join(format!("avenue-reference-{}", uuid::Uuid::new_v4()));
    let input = stem.with_extension("in");
    let output = stem.with_extension("png");
    std::fs::write(&input, source).expect("write the source");
    let run = Command::new(root().join(".venv-mongo/bin/python"))
        .arg(root().join("scripts/pixel_reference.py"))
        .arg(&input)
        .arg(&output)
        .arg(ops.to_string())
        .output()
        .expect("the venv's python runs: run the tests with `make test`");
    assert!(
        run.status.success(),
        "pixel_reference.py failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let reference = image::open(&output).expect("the reference is a PNG");
    let _ = std::fs::remove_file(&input);
    let _ = std::fs::remove_file(&output);
    reference
}

/// Mean absolute difference per channel (0 to 255) between two images of
/// the same size, alpha included.
///
/// # Panics
/// When the sizes differ.
pub fn mean_difference(ours: &DynamicImage, reference: &DynamicImage) -> f64 {
    assert_eq!(
        ours.dimensions(),
        reference.dimensions(),
        "the answer and the reference differ in size"
    );
    let (a, b) = (ours.to_rgba8(), reference.to_rgba8());
    let total: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.as_raw().len().max(1) as f64
}

fn python(script: &str) -> Command {
    let mut command = Command::new(root().join(".venv-mongo/bin/python"));
    command.arg(root().join("scripts").join(script));
    command
}

/// A sample photograph scikit-image ships (`astronaut.png`, `coffee.png`,
/// ...), as stored.
///
/// # Panics
/// When the venv or the photograph is missing.
pub fn photo(name: &str) -> Vec<u8> {
    let mut command = python("faces_reference.py");
    command.arg("--photos");
    let folder = PathBuf::from(printed(command).trim());
    std::fs::read(folder.join(name)).expect("scikit-image ships the photograph")
}

/// The faces scikit-image's LBP cascade finds in `image`, largest first,
/// as `[x, y, width, height]`: an independent detector to check ours by.
///
/// # Panics
/// When the venv is missing or the script fails.
pub fn faces(image: &[u8]) -> Vec<[u32; 4]> {
    let path = std::env::temp_dir().join(format!("avenue-faces-{}.png", uuid::Uuid::new_v4()));
    std::fs::write(&path, image).expect("write the image");
    let mut command = python("faces_reference.py");
    command.arg(&path);
    let out = printed(command);
    let _ = std::fs::remove_file(&path);
    serde_json::from_str(out.trim()).expect("a JSON list of boxes")
}

/// Runs `scripts/documents_reference.py` into a scratch folder; the
/// file it made (`made`) and the pictures (`PREFIX-N.png`, N from `first`).
fn painted(args: &[String], made: &str, prefix: &str, first: u32) -> (Vec<u8>, Vec<DynamicImage>) {
    let folder = crate::scratch::ScratchDir::new("documents");
    let mut command = python("documents_reference.py");
    command.arg(&args[0]).arg(folder.path()).args(&args[1..]);
    printed(command);
    let file = std::fs::read(folder.path().join(made)).expect("the script made the file");
    let pictures = (first..)
        .map(|n| folder.path().join(format!("{prefix}-{n}.png")))
        .take_while(|path| path.exists())
        .map(|path| image::open(path).expect("a painted PNG"))
        .collect();
    (file, pictures)
}

/// A PDF (Pillow's, each page embedded losslessly at 150 dpi) with one
/// page per `(width, height, seed)`, and each page as painted.
pub fn pdf_pages(pages: &[(u32, u32, u32)]) -> (Vec<u8>, Vec<DynamicImage>) {
    let spec: Vec<[u32; 3]> = pages.iter().map(|&(w, h, s)| [w, h, s]).collect();
    painted(
        &["pdf".into(), serde_json::to_string(&spec).expect("json")],
        "doc.pdf",
        "page",
        1,
    )
}

/// An H.264 MP4 of `seconds` seconds, `width` x `height`, showing a
/// different painting each second, and the paintings in order.
pub fn video_seconds(width: u32, height: u32, seconds: u32) -> (Vec<u8>, Vec<DynamicImage>) {
    painted(
        &[
            "video".into(),
            width.to_string(),
            height.to_string(),
            seconds.to_string(),
        ],
        "clip.mp4",
        "second",
        0,
    )
}
