//! The fault suite's parts: a MongoDB stand-in of the test's own (so it can
//! be killed without hurting other tests), the real binaries, and load that
//! records every answer, so a test can say what was sent, what was
//! acknowledged and what was lost.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use avenue_shared::Role;

use crate::{binary, fixtures, token};

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// `secantusd-py` from the venv the project's scripts make.
fn secantusd() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(".venv-mongo/bin/secantusd-py");
    assert!(
        path.exists(),
        "{} is missing: run the tests with `make test`, which creates the venv",
        path.display()
    );
    path
}

/// A SecantusDB server of the test's own, on its own storage.
pub struct MongoProcess {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl MongoProcess {
    pub async fn start() -> Self {
        let dir =
            std::env::temp_dir().join(format!("avenue-chaos-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("storage folder");
        let mut mongo = Self {
            port: free_port(),
            dir,
            child: None,
        };
        mongo.launch().await;
        mongo
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    async fn launch(&mut self) {
        let child = Command::new(secantusd())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .arg("--storage-path")
            .arg(&self.dir)
            .arg("--sync-on-commit")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start secantusd-py");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "SecantusDB did not listen within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGKILL: no chance to flush anything.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("SIGKILL the database");
        }
    }

    /// Starts again on the same storage and port.
    pub async fn restart(&mut self) {
        self.launch().await;
    }
}

impl Drop for MongoProcess {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real service binary, killed when dropped.
pub struct ServiceProcess {
    pub child: Child,
    pub port: u16,
}

impl ServiceProcess {
    /// Starts `name` (`avenue-media` or `avenue-api`) with `env`, and
    /// waits for the port it announces in its JSON log.
    pub async fn start(name: &str, env: &[(&str, String)]) -> Self {
        let mut command = Command::new(binary(name));
        for (key, value) in env {
            command.env(key, value);
        }
        Self::launch(command).await
    }

    /// Starts `name` with exactly `env` (and `PATH`), nothing inherited
    /// from the test run: what a container given that environment does.
    pub async fn start_with_only(
        name: &str,
        env: &std::collections::BTreeMap<String, String>,
    ) -> Self {
        let mut command = Command::new(binary(name));
        command.env_clear().envs(env);
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        Self::launch(command).await
    }

    async fn launch(mut command: Command) -> Self {
        command
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().expect("start the service");
        let stderr = child.stderr.take().expect("piped stderr");
        let mut lines = BufReader::new(stderr).lines();
        let port = tokio::time::timeout(Duration::from_secs(60), async {
            let mut said = Vec::new();
            while let Ok(Some(line)) = lines.next_line().await {
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                    said.push(line);
                    continue;
                };
                if let Some(port) = event["fields"]["port"].as_u64() {
                    return port as u16;
                }
                said.push(line);
            }
            panic!(
                "{} exited before it listened:\n{}",
                binary_name(&command),
                said.join("\n")
            );
        })
        .await
        .expect("the service starts within 60 s");
        // Keep draining the log so the child never blocks on a full pipe;
        // with CHAOS_LOG set, errors are shown.
        let show = std::env::var_os("CHAOS_LOG").is_some();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if show && line.contains("\"ERROR\"") {
                    eprintln!("{line}");
                }
            }
        });
        Self { child, port }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    pub async fn kill(&mut self) {
        self.child.kill().await.expect("SIGKILL the service");
    }
}

fn binary_name(command: &Command) -> String {
    command
        .as_std()
        .get_program()
        .to_string_lossy()
        .into_owned()
}

/// Seconds until `url` answers 200, polled every 50 ms, at most `within`.
pub async fn seconds_until_ready(url: &str, within: Duration) -> Option<f64> {
    let started = Instant::now();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()
        .expect("client");
    while started.elapsed() < within {
        if let Ok(response) = http.get(url).send().await {
            if response.status() == 200 {
                return Some(started.elapsed().as_secs_f64());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Every answer the load received, by status (`error` when none came).
#[derive(Default, Debug)]
pub struct Tally {
    pub statuses: BTreeMap<String, u64>,
    /// Acknowledged uploads: media id and SHA-256 of what was sent.
    pub acknowledged: Vec<(String, String)>,
    /// 503s that came without `Retry-After`.
    pub unavailable_without_retry_after: u64,
}

impl Tally {
    pub fn sent(&self) -> u64 {
        self.statuses.values().sum()
    }

    pub fn count(&self, status: &str) -> u64 {
        self.statuses.get(status).copied().unwrap_or(0)
    }

    fn record(&mut self, response: &Result<reqwest::Response, reqwest::Error>) {
        let key = match response {
            Ok(r) => {
                if r.status() == 503 && r.headers().get("retry-after").is_none() {
                    self.unavailable_without_retry_after += 1;
                }
                r.status().as_u16().to_string()
            }
            Err(_) => "error".to_owned(),
        };
        *self.statuses.entry(key).or_default() += 1;
    }
}

/// Uploads and renders against a media service until stopped.
pub struct MediaLoad {
    stop: Arc<AtomicBool>,
    uploads: Arc<Mutex<Tally>>,
    renders: Arc<Mutex<Tally>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

static SEED: AtomicU64 = AtomicU64::new(1);

impl MediaLoad {
    /// `uploaders` clients upload small distinct PNGs; `renderers` ask for
    /// distinct variants of `images` (ids of JPEGs already stored), signed
    /// with the dev secret.
    pub fn start(base: &str, uploaders: usize, renderers: usize, images: Vec<String>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let uploads = Arc::new(Mutex::new(Tally::default()));
        let renders = Arc::new(Mutex::new(Tally::default()));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        let mut tasks = Vec::new();
        for _ in 0..uploaders {
            let (stop, tally, http, base) =
                (stop.clone(), uploads.clone(), http.clone(), base.to_owned());
            tasks.push(tokio::spawn(async move {
                let token = token(Role::Admin);
                while !stop.load(Ordering::Acquire) {
                    let seed = SEED.fetch_add(1, Ordering::AcqRel);
                    let bytes = fixtures::png(6 + (seed % 7) as u32, 5, (seed % 251) as u8);
                    let mut bytes = bytes;
                    // Distinct bytes every time: a trailing chunk-free tag.
                    bytes.extend_from_slice(&seed.to_be_bytes());
                    let sha = fixtures::sha256_hex(&bytes);
                    let response = http
                        .post(format!("{base}/v1/media"))
                        .bearer_auth(&token)
                        .header("content-type", "image/png")
                        .body(bytes)
                        .send()
                        .await;
                    if response.is_err() {
                        // The service is down: a client would back off too.
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    let mut tally = tally.lock().unwrap_or_else(|p| p.into_inner());
                    tally.record(&response);
                    if let Ok(r) = response {
                        if r.status().is_success() {
                            if let Some(id) = r
                                .headers()
                                .get("location")
                                .and_then(|v| v.to_str().ok())
                                .and_then(|l| l.rsplit('/').next())
                            {
                                tally.acknowledged.push((id.to_owned(), sha));
                            }
                        }
                    }
                }
            }));
        }
        for worker in 0..renderers {
            let (stop, tally, http, base, images) = (
                stop.clone(),
                renders.clone(),
                http.clone(),
                base.to_owned(),
                images.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut n = 0usize;
                while !stop.load(Ordering::Acquire) && !images.is_empty() {
                    n += 1;
                    let id = &images[(worker + n) % images.len()];
                    let width = 20 + (worker * 997 + n * 13) % 400;
                    let path =
                        crate::signed_path(&format!("c_scale,w_{width}"), &format!("{id}.jpg"));
                    let response = http.get(format!("{base}{path}")).send().await;
                    let backoff = match &response {
                        Ok(r) => r.status() == 503,
                        Err(_) => true,
                    };
                    if backoff {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    tally
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .record(&response);
                }
            }));
        }
        Self {
            stop,
            uploads,
            renders,
            tasks,
        }
    }

    /// Uploads acknowledged so far.
    pub fn acknowledged(&self) -> usize {
        self.uploads
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .acknowledged
            .len()
    }

    /// Waits until `n` more uploads than now are acknowledged (at most
    /// `within`); answers whether they were.
    pub async fn await_more(&self, n: usize, within: Duration) -> bool {
        let target = self.acknowledged() + n;
        let started = Instant::now();
        while self.acknowledged() < target {
            if started.elapsed() > within {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Stops the load and answers (uploads, renders).
    pub async fn finish(self) -> (Tally, Tally) {
        self.stop.store(true, Ordering::Release);
        for task in self.tasks {
            let _ = task.await;
        }
        let take = |t: Arc<Mutex<Tally>>| {
            std::mem::take(&mut *t.lock().unwrap_or_else(|p| p.into_inner()))
        };
        (take(self.uploads), take(self.renders))
    }
}
