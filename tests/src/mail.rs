//! A real SMTP server on loopback (`scripts/smtp_sink.py`, aiosmtpd from the
//! project's venv) and what it received, for tests of email that really
//! leaves the api.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::chaos::free_port;

/// How long a test waits for an email the api should send at once.
const DELIVERY: Duration = Duration::from_secs(20);

fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

/// What the sink answers to some recipients, so tests can watch retries.
#[derive(Default, Clone)]
pub struct SinkRules {
    /// Recipients matching this regex get 451 (try later).
    pub defer: Option<String>,
    /// Recipients matching this regex get 550 (never).
    pub refuse: Option<String>,
}

pub struct MailSink {
    pub port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl MailSink {
    pub async fn start() -> Self {
        Self::start_on(free_port(), SinkRules::default()).await
    }

    /// On `port`, which may be one an api was already told to use.
    pub async fn start_on(port: u16, rules: SinkRules) -> Self {
        let dir =
            std::env::temp_dir().join(format!("avenue-mail-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("mail folder");
        let python = repo_file(".venv-mongo/bin/python");
        assert!(
            python.exists(),
            "{} is missing: run the tests with `make test`, which creates the venv",
            python.display()
        );
        let mut command = Command::new(python);
        command
            .arg(repo_file("scripts/smtp_sink.py"))
            .args(["--port", &port.to_string()])
            .arg("--dir")
            .arg(&dir);
        if let Some(defer) = &rules.defer {
            command.args(["--defer", defer]);
        }
        if let Some(refuse) = &rules.refuse {
            command.args(["--refuse", refuse]);
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("start scripts/smtp_sink.py");
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                Instant::now() < deadline,
                "the SMTP sink did not listen within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Self {
            port,
            dir,
            child: Some(child),
        }
    }

    /// The `SMTP_URL` that reaches this sink.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message delivered so far, oldest first.
    pub fn messages(&self) -> Vec<Value> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .expect("mail folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| {
                serde_json::from_slice(&std::fs::read(p).expect("a delivered message"))
                    .expect("the sink writes JSON")
            })
            .collect()
    }

    /// The messages delivered to `to`, once there are at least `count`.
    ///
    /// # Panics
    /// When they do not arrive within 20 s.
    pub async fn wait_for(&self, to: &str, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + DELIVERY;
        loop {
            let theirs: Vec<Value> = self
                .messages()
                .into_iter()
                .filter(|m| {
                    m["rcpt_tos"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|a| a == to))
                })
                .collect();
            if theirs.len() >= count {
                return theirs;
            }
            assert!(
                Instant::now() < deadline,
                "{count} message(s) to {to} not delivered within {DELIVERY:?}; got {theirs:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Drop for MailSink {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The link with a `token=` in a delivered message's text part.
pub fn link_in(message: &Value) -> String {
    let text = message["text"].as_str().expect("a text part");
    text.split_whitespace()
        .find(|word| word.starts_with("http") && word.contains("token="))
        .unwrap_or_else(|| panic!("no link with a token in {text}"))
        .to_owned()
}

/// The `token` query parameter of `link`.
pub fn token_of(link: &str) -> String {
    let url = url::Url::parse(link).expect("an absolute link");
    url.query_pairs()
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .expect("a token")
}
