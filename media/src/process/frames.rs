//! Pictures of what is not an image: a PDF's page drawn by poppler's
//! `pdftoppm`, a video's frame decoded by ffmpeg. Each tool runs as a
//! child process under `prlimit` (address space and CPU seconds) and a
//! wall-clock timeout, and is killed if the render is dropped: a hostile
//! document costs one bounded process, never the server. Sizes are read
//! first (`pdfinfo`, `ffprobe`) and checked against the pixel limit before
//! anything is drawn.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::pipeline::ProcessError;
use super::transformation::{Pick, TimeOffset, TransformError, DEFAULT_DENSITY};

/// Wall-clock time one tool may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(20);
/// CPU seconds one tool may use (`prlimit --cpu`).
const TOOL_CPU_SECONDS: u32 = 20;
/// Address space one tool may map (`prlimit --as`): generous for a
/// decoder's reservations, far below what would hurt the host.
const TOOL_MEMORY_BYTES: u64 = 1024 * 1024 * 1024;
/// `so_auto` looks this many frames into the video for the one that best
/// stands for them (ffmpeg's `thumbnail` filter).
const AUTO_FRAMES: u32 = 50;

/// A picture drawn from a document or a video, as PNG.
#[derive(Debug, Clone)]
pub struct Still {
    pub bytes: Bytes,
    pub width: u32,
    pub height: u32,
}

fn refused(parameter: &str, reason: impl Into<String>) -> ProcessError {
    ProcessError::Transform(TransformError::new(parameter, reason))
}

/// Page `pick.page` (1 without it) of a PDF at `pick.density` dots per
/// inch (150 without it).
///
/// # Errors
/// A page the document does not have or too many pixels: a refused
/// transformation; a document the tools cannot read: [`ProcessError::Unreadable`].
pub async fn pdf_page(pdf: Bytes, pick: Pick, max_pixels: u64) -> Result<Still, ProcessError> {
    let page = pick.page.unwrap_or(1);
    let density = pick.density.unwrap_or(DEFAULT_DENSITY);
    let page_arg = page.to_string();
    // Asked for a page past the end, pdfinfo only fails: the count first.
    let info = run("the PDF", "pdfinfo", &["-"], Some(pdf.clone())).await?;
    let info = String::from_utf8_lossy(&info).into_owned();
    let pages = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse::<u32>().ok())
        .ok_or_else(|| {
            ProcessError::Undrawable("the PDF does not say how many pages it has".into())
        })?;
    if page > pages {
        return Err(refused(
            "pg",
            format!("the document has {pages} page(s); there is no page {page}"),
        ));
    }
    let info = if page == 1 {
        info
    } else {
        let sized = run(
            "the PDF",
            "pdfinfo",
            &["-f", &page_arg, "-l", &page_arg, "-"],
            Some(pdf.clone()),
        )
        .await?;
        String::from_utf8_lossy(&sized).into_owned()
    };
    let (width_pt, height_pt) = page_size(&info, page)
        .ok_or_else(|| ProcessError::Undrawable(format!("page {page} has no size")))?;
    let to_pixels = |points: f64| (points * f64::from(density) / 72.0).ceil();
    let (width, height) = (to_pixels(width_pt), to_pixels(height_pt));
    if width * height > max_pixels as f64 {
        return Err(refused(
            if pick.density.is_some() { "dn" } else { "pg" },
            format!(
                "page {page} drawn at {density} dpi would be {width}x{height} pixels, more than the {max_pixels} pixel limit; ask for a lower dn_"
            ),
        ));
    }
    let density_arg = density.to_string();
    let png = run(
        "the PDF",
        "pdftoppm",
        &[
            "-f",
            &page_arg,
            "-l",
            &page_arg,
            "-r",
            &density_arg,
            "-png",
            "-singlefile",
            "-",
        ],
        Some(pdf),
    )
    .await?;
    still(png, max_pixels)
}

/// `Page    N size: W x H pts` from pdfinfo.
fn page_size(info: &str, page: u32) -> Option<(f64, f64)> {
    let line = info.lines().find(|l| {
        l.strip_prefix("Page")
            .and_then(|rest| rest.trim_start().split_once(' '))
            .is_some_and(|(n, rest)| {
                n.parse::<u32>() == Ok(page) && rest.trim_start().starts_with("size:")
            })
    });
    let sizes = match line {
        Some(line) => line.split_once("size:")?.1,
        // Without a page range pdfinfo writes the first page's size as
        // `Page size:`.
        None => info.lines().find_map(|l| l.strip_prefix("Page size:"))?,
    };
    let mut numbers = sizes.split_whitespace();
    let width = numbers.next()?.parse::<f64>().ok()?;
    let _x = numbers.next()?;
    let height = numbers.next()?.parse::<f64>().ok()?;
    (width.is_finite() && height.is_finite() && width > 0.0 && height > 0.0)
        .then_some((width, height))
}

/// The frame of a video that `pick` names: `so_` (seconds, a percentage,
/// or `auto`), else the middle of the video, or of its first `eo_`
/// seconds.
///
/// # Errors
/// An offset past the end or too many pixels: a refused transformation;
/// no video stream or no frame: [`ProcessError::Unreadable`].
pub async fn video_frame(video: Bytes, pick: Pick, max_pixels: u64) -> Result<Still, ProcessError> {
    // MP4s may keep their index at the end: ffmpeg needs to seek.
    let file = ScratchFile::write(&video).await?;
    let path = file.path_str()?;
    let probe = run(
        "the video",
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height:format=duration",
            "-of",
            "json",
            path,
        ],
        None,
    )
    .await?;
    let probe: Probe = serde_json::from_slice(&probe)
        .map_err(|err| ProcessError::Undrawable(format!("the video's description: {err}")))?;
    let stream = probe
        .streams
        .first()
        .ok_or_else(|| ProcessError::Undrawable("the file has no video stream".into()))?;
    if u64::from(stream.width) * u64::from(stream.height) > max_pixels {
        return Err(ProcessError::TooManyPixels {
            width: stream.width,
            height: stream.height,
            max: max_pixels,
        });
    }
    let duration = probe
        .format
        .duration
        .as_deref()
        .and_then(|d| d.parse::<f64>().ok())
        .filter(|d| d.is_finite() && *d >= 0.0)
        .unwrap_or(0.0);
    let seconds = match (pick.start, pick.end) {
        (Some(TimeOffset::Auto), _) => None,
        (Some(start), _) => start.seconds(duration),
        (None, Some(end)) => end.seconds(duration).map(|e| e.min(duration) / 2.0),
        (None, None) => Some(duration / 2.0),
    };
    // Seeking before the input is fast and lands on the frame shown at
    // that time; without a time, ffmpeg's `thumbnail` filter picks one.
    let (seek, filter) = match seconds {
        Some(at) => {
            if at > duration + 0.001 {
                let key = if pick.start.is_some() { "so" } else { "eo" };
                return Err(refused(
                    key,
                    format!("the video lasts {duration:.2} s; there is no frame at {at:.2} s"),
                ));
            }
            // The last frame starts a little before the end.
            let at = at.min((duration - 0.05).max(0.0));
            (vec!["-ss".to_owned(), format!("{at:.3}")], Vec::new())
        }
        None => (
            Vec::new(),
            vec!["-vf".to_owned(), format!("thumbnail={AUTO_FRAMES}")],
        ),
    };
    let mut args = vec!["-nostdin", "-v", "error", "-threads", "1"];
    args.extend(seek.iter().map(String::as_str));
    args.extend(["-i", path]);
    args.extend(filter.iter().map(String::as_str));
    args.extend([
        "-frames:v",
        "1",
        "-an",
        "-f",
        "image2pipe",
        "-c:v",
        "png",
        "-",
    ]);
    let png = run("the video", "ffmpeg", &args, None).await?;
    if png.is_empty() {
        return Err(ProcessError::Undrawable(
            "the video gave no frame there".into(),
        ));
    }
    still(png, max_pixels)
}

#[derive(serde::Deserialize)]
struct Probe {
    #[serde(default)]
    streams: Vec<ProbeStream>,
    #[serde(default)]
    format: ProbeFormat,
}

#[derive(serde::Deserialize)]
struct ProbeStream {
    #[serde(default)]
    width: u32,
    #[serde(default)]
    height: u32,
}

#[derive(serde::Deserialize, Default)]
struct ProbeFormat {
    duration: Option<String>,
}

/// The PNG a tool wrote, with its size read from its header.
fn still(png: Vec<u8>, max_pixels: u64) -> Result<Still, ProcessError> {
    let (width, height) =
        image::ImageReader::with_format(std::io::Cursor::new(&png), image::ImageFormat::Png)
            .into_dimensions()
            .map_err(|err| ProcessError::Undrawable(format!("the drawn picture: {err}")))?;
    if u64::from(width) * u64::from(height) > max_pixels {
        return Err(ProcessError::TooManyPixels {
            width,
            height,
            max: max_pixels,
        });
    }
    Ok(Still {
        bytes: Bytes::from(png),
        width,
        height,
    })
}

/// Runs `program` bounded in memory, CPU and time; its standard output.
async fn run(
    what: &str,
    program: &str,
    args: &[&str],
    input: Option<Bytes>,
) -> Result<Vec<u8>, ProcessError> {
    let mut command = Command::new("prlimit");
    command
        .arg(format!("--as={TOOL_MEMORY_BYTES}"))
        .arg(format!("--cpu={TOOL_CPU_SECONDS}"))
        .arg("--")
        .arg(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().map_err(|err| {
        ProcessError::Unsupported(format!(
            "this server cannot run {program} (install poppler-utils and ffmpeg): {err}"
        ))
    })?;
    if let (Some(bytes), Some(mut stdin)) = (input, child.stdin.take()) {
        // A tool that stops reading early (a bad header) closes the pipe:
        // its exit status says what went wrong, not this write.
        tokio::spawn(async move {
            let _ = stdin.write_all(&bytes).await;
        });
    }
    let output = tokio::time::timeout(TOOL_TIMEOUT, child.wait_with_output())
        .await
        .map_err(|_| {
            ProcessError::Undrawable(format!(
                "{what}: {program} took longer than {} s, and was stopped",
                TOOL_TIMEOUT.as_secs()
            ))
        })?
        .map_err(|err| ProcessError::Unsupported(format!("running {program}: {err}")))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let first = said.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(ProcessError::Undrawable(format!(
            "{what} could not be read by {program} ({}): {}",
            output.status,
            first.chars().take(200).collect::<String>()
        )));
    }
    Ok(output.stdout)
}

/// A copy of the bytes on disk for a tool that must seek, removed on drop.
struct ScratchFile(PathBuf);

impl ScratchFile {
    async fn write(bytes: &[u8]) -> Result<Self, ProcessError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "avenue-frame-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = Self(path);
        tokio::fs::write(&file.0, bytes)
            .await
            .map_err(|err| ProcessError::Unsupported(format!("writing a scratch copy: {err}")))?;
        Ok(file)
    }

    fn path_str(&self) -> Result<&str, ProcessError> {
        self.0
            .to_str()
            .ok_or_else(|| ProcessError::Unsupported("the temp dir is not UTF-8".into()))
    }
}

impl Drop for ScratchFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_read_from_pdfinfo() {
        let many = "Pages:           2\nPage    1 size:  144 x 96 pts\nPage    2 size:  115.2 x 153.6 pts\n";
        assert_eq!(page_size(many, 2), Some((115.2, 153.6)));
        assert_eq!(page_size(many, 1), Some((144.0, 96.0)));
        let one = "Pages:           1\nPage size:       612 x 792 pts (letter)\n";
        assert_eq!(page_size(one, 1), Some((612.0, 792.0)));
        assert_eq!(page_size("Pages: 1\nPage size: x\n", 1), None);
        assert_eq!(page_size("Pages: 1\nPage size: -3 x 5 pts\n", 1), None);
    }
}
