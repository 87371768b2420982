//! Uploads that end badly: the client hangs up, or the process is killed
//! with the bytes half in GridFS. Nothing may stay visible, and nothing may
//! stay that no one will ever clean up.

use std::process::Stdio;
use std::time::Duration;

use avenue_shared::Role;
use avenue_tests::{binary, fixtures, mongo_uri, spawn_media, token, unique_db, StorageProbe};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Sends the head and `bytes` of a chunked upload that is never finished.
async fn start_endless_upload(port: u16, bytes: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let head = format!(
        "POST /v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n",
        token(Role::Admin)
    );
    stream.write_all(head.as_bytes()).await.expect("head");
    for piece in bytes.chunks(64 * 1024) {
        stream
            .write_all(format!("{:x}\r\n", piece.len()).as_bytes())
            .await
            .expect("chunk size");
        stream.write_all(piece).await.expect("chunk");
        stream.write_all(b"\r\n").await.expect("chunk end");
    }
    stream.flush().await.expect("flush");
    stream
}

#[tokio::test]
async fn a_client_that_hangs_up_mid_upload_leaves_nothing() {
    let app = spawn_media().await;
    let stream = start_endless_upload(app.port, &fixtures::padded_png(900 * 1024, 1)).await;
    // Wait until bytes have reached GridFS, then hang up.
    let during = app
        .storage()
        .await_until(|(_, _, chunks, _)| chunks >= 2)
        .await;
    assert!(during.2 >= 2, "the upload reached GridFS: {during:?}");
    assert_eq!(during.0, 0, "nothing is visible while uploading");
    drop(stream);
    assert_eq!(app.await_storage_counts((0, 0, 0, 0)).await, (0, 0, 0, 0));
    app.stop().await;
}

struct MediaProcess {
    child: Child,
    port: u16,
}

/// Starts the real `avenue-media` binary on a free port.
async fn start_process(db: &str, grace_secs: u64) -> MediaProcess {
    let mut child = Command::new(binary("avenue-media"))
        .env("MONGODB_URI", mongo_uri())
        .env("MONGODB_DB", db)
        .env("MEDIA_BIND", "127.0.0.1:0")
        .env("MEDIA_STAGING_GRACE_SECS", grace_secs.to_string())
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "avenue_media=info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start avenue-media");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    let port = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            if let Some(port) = event["fields"]["port"].as_u64() {
                return port as u16;
            }
        }
        panic!("avenue-media exited before it listened");
    })
    .await
    .expect("avenue-media starts within 30 s");
    // Keep draining the log so the child never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    MediaProcess { child, port }
}

async fn sweep(db: &str, dry_run: bool) -> String {
    let mut command = Command::new(binary("avenue-media"));
    command
        .arg("sweep")
        .env("MONGODB_URI", mongo_uri())
        .env("MONGODB_DB", db)
        .env("MEDIA_STAGING_GRACE_SECS", "0");
    if dry_run {
        command.arg("--dry-run");
    }
    let output = command.output().await.expect("run sweep");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Kills the process once part of an upload is in GridFS, and returns the
/// storage counts it left.
async fn kill_mid_upload(db: &str, probe: &StorageProbe, seed: u64) -> (u64, u64, u64, u64) {
    let mut process = start_process(db, 3600).await;
    let _stream = start_endless_upload(process.port, &fixtures::padded_png(900 * 1024, seed)).await;
    let during = probe.await_until(|(_, _, chunks, _)| chunks >= 2).await;
    assert!(during.2 >= 2, "the upload reached GridFS: {during:?}");
    process.child.kill().await.expect("SIGKILL");
    probe.counts().await
}

#[tokio::test]
async fn a_process_killed_mid_upload_leaves_only_what_the_sweeper_removes() {
    let db = unique_db();
    let probe = StorageProbe::open(&db).await;

    let (media, files, chunks, staged) = kill_mid_upload(&db, &probe, 11).await;
    assert_eq!(
        (media, files, staged),
        (0, 0, 1),
        "invisible, and journalled"
    );
    assert!(chunks >= 2);

    let report = sweep(&db, true).await;
    assert!(report.contains("would remove 1"), "{report}");
    assert_eq!(
        probe.counts().await,
        (0, 0, chunks, 1),
        "a dry run changes nothing"
    );
    let report = sweep(&db, false).await;
    assert!(report.contains("removed 1"), "{report}");
    assert_eq!(probe.counts().await, (0, 0, 0, 0));

    // Again, and this time the restarted service cleans up by itself.
    let left = kill_mid_upload(&db, &probe, 12).await;
    assert_eq!(left.3, 1);
    let mut restarted = start_process(&db, 0).await;
    assert_eq!(probe.await_counts((0, 0, 0, 0)).await, (0, 0, 0, 0));
    // And the restarted service works.
    let response = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/v1/media", restarted.port))
        .bearer_auth(token(Role::Admin))
        .header("content-type", "image/png")
        .body(fixtures::png(3, 3, 3))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), 201);
    restarted.child.kill().await.expect("kill");
    let _ = probe.db.drop().await;
}

#[tokio::test]
async fn sigterm_stops_the_service_cleanly() {
    let db = unique_db();
    let mut process = start_process(&db, 3600).await;
    let pid = process.child.id().expect("running").to_string();
    let status = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .await
        .expect("kill -TERM");
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(15), process.child.wait())
        .await
        .expect("exits within 15 s of SIGTERM")
        .expect("exit status");
    assert!(exit.success(), "{exit:?}");
}
