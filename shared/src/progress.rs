//! Progress of long maintenance runs (migrations, imports, rewrites): a bar
//! with counts, bytes and ETA on a terminal, plain log lines otherwise (CI
//! logs, `kubectl logs`). Both services' commands use it.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Where a long run reports what it does (a progress bar, or log lines).
pub trait Progress: Send + Sync {
    /// `items` (media, files, documents) worth `bytes` in all.
    fn start(&self, items: u64, bytes: u64);
    /// One item of `bytes` is done.
    fn advance(&self, bytes: u64);
    fn failed(&self, what: &str, reason: &str);
    fn finish(&self);
}

/// A bar when stderr is a terminal, log lines when it is not. `label` names
/// the run in log lines (`import-dir`), `unit` its items (`files`).
pub fn for_terminal(label: &'static str, unit: &'static str) -> Box<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Box::new(Bar {
            bar: ProgressBar::hidden(),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            by_items: std::sync::atomic::AtomicBool::new(false),
            unit,
        })
    } else {
        Box::new(Lines {
            state: Mutex::default(),
            label,
            unit,
        })
    }
}

struct Bar {
    bar: ProgressBar,
    done: AtomicU64,
    total: AtomicU64,
    /// The total size is unknown (documents in a collection): the bar and
    /// its ETA count items instead of bytes.
    by_items: std::sync::atomic::AtomicBool,
    unit: &'static str,
}

impl Progress for Bar {
    fn start(&self, media: u64, bytes: u64) {
        self.bar
            .set_draw_target(indicatif::ProgressDrawTarget::stderr());
        let by_items = bytes == 0;
        self.by_items.store(by_items, Ordering::Relaxed);
        self.bar.set_length(if by_items { media } else { bytes });
        let template = if by_items {
            "{bar:30} {msg} {per_sec} ETA {eta}"
        } else {
            "{bar:30} {msg} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}"
        };
        self.bar.set_style(
            ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        self.bar.set_message(format!("0/{media} {}", self.unit));
        self.bar.set_position(0);
        self.bar.reset_eta();
        self.total.store(media, Ordering::Relaxed);
    }

    fn advance(&self, bytes: u64) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.bar.inc(if self.by_items.load(Ordering::Relaxed) {
            1
        } else {
            bytes
        });
        self.bar.set_message(format!(
            "{done}/{} {}",
            self.total.load(Ordering::Relaxed),
            self.unit
        ));
    }

    fn failed(&self, what: &str, reason: &str) {
        self.bar.println(format!("failed {what}: {reason}"));
    }

    fn finish(&self) {
        self.bar.finish();
    }
}

struct Lines {
    state: Mutex<LineState>,
    label: &'static str,
    unit: &'static str,
}

#[derive(Default)]
struct LineState {
    media: u64,
    bytes: u64,
    done: u64,
    done_bytes: u64,
    started: Option<Instant>,
    last: Option<Instant>,
}

const EVERY: Duration = Duration::from_secs(2);

impl Lines {
    fn lock(&self) -> std::sync::MutexGuard<'_, LineState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Progress for Lines {
    fn start(&self, media: u64, bytes: u64) {
        let mut s = self.lock();
        s.media = media;
        s.bytes = bytes;
        s.started = Some(Instant::now());
        eprintln!(
            "{}: {media} {} ({bytes} bytes) to go",
            self.label, self.unit
        );
    }

    fn advance(&self, bytes: u64) {
        let mut s = self.lock();
        s.done += 1;
        s.done_bytes += bytes;
        let now = Instant::now();
        if s.last.is_none_or(|last| now - last >= EVERY) || s.done == s.media {
            s.last = Some(now);
            let elapsed = s.started.map_or(0.0, |t| (now - t).as_secs_f64());
            let eta = if s.bytes == 0 && s.done > 0 {
                // Size unknown: estimate from items.
                elapsed * (s.media.saturating_sub(s.done)) as f64 / s.done as f64
            } else if s.done_bytes > 0 {
                elapsed * (s.bytes.saturating_sub(s.done_bytes)) as f64 / s.done_bytes as f64
            } else {
                0.0
            };
            eprintln!(
                "{}: {}/{} {}, {}/{} bytes, ETA {eta:.0} s",
                self.label, s.done, s.media, self.unit, s.done_bytes, s.bytes
            );
        }
    }

    fn failed(&self, what: &str, reason: &str) {
        eprintln!("{}: failed {what}: {reason}", self.label);
    }

    fn finish(&self) {
        let s = self.lock();
        let elapsed = s.started.map_or(0.0, |t| t.elapsed().as_secs_f64());
        eprintln!("{}: done in {elapsed:.1} s", self.label);
    }
}
