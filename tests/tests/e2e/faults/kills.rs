//! The database and the media service killed with SIGKILL under load, and
//! the stand-in's own durability probe.

use std::time::{Duration, Instant};

use mongodb::bson::{doc, oid::ObjectId, Document};

use avenue_tests::chaos::{
    free_port, seconds_until_ready, MediaLoad, MongoProcess, ServiceProcess,
};
use avenue_tests::{fixtures, unique_db};

use super::{assert_consistent, lost, media_env, no_server_errors, rounds, seed_images, sweep};

#[tokio::test]
async fn the_database_killed_under_load_loses_nothing_acknowledged() {
    let mut mongo = MongoProcess::start().await;
    let db = unique_db();
    let port = free_port();
    let media = ServiceProcess::start("avenue-media", &media_env(&mongo, &db, port)).await;
    let base = media.url("");
    let images = seed_images(&base, 4).await;
    let load = MediaLoad::start(&base, 8, 8, images);
    let mut recoveries = Vec::new();
    for _ in 0..rounds() {
        assert!(
            load.await_more(40, Duration::from_secs(60)).await,
            "the load runs"
        );
        mongo.kill().await;
        // Writes in flight when it died must fail, not be acknowledged and lost.
        tokio::time::sleep(Duration::from_millis(500)).await;
        mongo.restart().await;
        let ready = seconds_until_ready(&media.url("/readyz"), Duration::from_secs(60))
            .await
            .expect("media is ready again without a restart");
        recoveries.push(ready);
        assert!(
            load.await_more(40, Duration::from_secs(60)).await,
            "uploads resume"
        );
    }
    let (uploads, renders) = load.finish().await;
    sweep(&mongo, &db).await;
    let lost = lost(&base, &uploads).await;
    let (records, files) = assert_consistent(&mongo, &db).await;
    eprintln!(
        "FAULTS database kill x{}: uploads sent {} acknowledged {} lost {lost} {:?}; renders sent {} {:?}; \
         ready again {recoveries:.2?} s after each restart; {records} records, {files} GridFS files",
        rounds(),
        uploads.sent(),
        uploads.acknowledged.len(),
        uploads.statuses,
        renders.sent(),
        renders.statuses,
    );
    assert_eq!(lost, 0);
    no_server_errors("uploads", &uploads);
    no_server_errors("renders", &renders);
}

#[tokio::test]
async fn the_media_service_killed_under_load_loses_nothing_acknowledged() {
    let mongo = MongoProcess::start().await;
    let db = unique_db();
    let port = free_port();
    let mut media = ServiceProcess::start("avenue-media", &media_env(&mongo, &db, port)).await;
    let base = media.url("");
    let images = seed_images(&base, 4).await;
    let load = MediaLoad::start(&base, 8, 8, images);
    let mut recoveries = Vec::new();
    for _ in 0..rounds() {
        assert!(
            load.await_more(40, Duration::from_secs(60)).await,
            "the load runs"
        );
        media.kill().await;
        let restarted = Instant::now();
        media = ServiceProcess::start("avenue-media", &media_env(&mongo, &db, port)).await;
        seconds_until_ready(&media.url("/readyz"), Duration::from_secs(60))
            .await
            .expect("ready after a restart");
        recoveries.push(restarted.elapsed().as_secs_f64());
        assert!(
            load.await_more(40, Duration::from_secs(60)).await,
            "uploads resume"
        );
    }
    let (uploads, renders) = load.finish().await;
    sweep(&mongo, &db).await;
    let lost = lost(&base, &uploads).await;
    let (records, files) = assert_consistent(&mongo, &db).await;
    eprintln!(
        "FAULTS media kill x{}: uploads sent {} acknowledged {} lost {lost} {:?}; renders sent {} {:?}; \
         ready {recoveries:.2?} s after each kill; {records} records, {files} GridFS files",
        rounds(),
        uploads.sent(),
        uploads.acknowledged.len(),
        uploads.statuses,
        renders.sent(),
        renders.statuses,
    );
    assert_eq!(lost, 0);
    no_server_errors("uploads", &uploads);
    no_server_errors("renders", &renders);
}

/// The stand-in alone, through the driver alone: small GridFS uploads each
/// followed by a record naming the file (what an upload does, minus the
/// service), with SecantusDB killed by SIGKILL and restarted meanwhile.
/// Counts the records acknowledged whose file is gone afterwards.
async fn driver_only_losses(journaled: bool) -> (usize, usize) {
    use mongodb::options::{Acknowledgment, ClientOptions, WriteConcern};
    let mut mongo = MongoProcess::start().await;
    let mut options = ClientOptions::parse(mongo.uri()).await.expect("uri");
    options.server_selection_timeout = Some(Duration::from_secs(30));
    if journaled {
        options.write_concern = Some(
            WriteConcern::builder()
                .w(Acknowledgment::Majority)
                .journal(true)
                .build(),
        );
    }
    let client = mongodb::Client::with_options(options).expect("client");
    let db = client.database("probe");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut writers = Vec::new();
    for worker in 0..8u32 {
        let (db, stop) = (db.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            use futures::AsyncWriteExt;
            let bucket = db.gridfs_bucket(None);
            let records = db.collection::<Document>("records");
            let mut acknowledged = Vec::new();
            let mut n = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Acquire) {
                n += 1;
                let id = ObjectId::new();
                let written = async {
                    let mut upload = bucket
                        .open_upload_stream(format!("{worker}-{n}"))
                        .id(mongodb::bson::Bson::ObjectId(id))
                        .await?;
                    upload
                        .write_all(&fixtures::png(6, 5, (n % 250) as u8))
                        .await
                        .map_err(mongodb::error::Error::custom)?;
                    upload
                        .close()
                        .await
                        .map_err(mongodb::error::Error::custom)?;
                    records
                        .insert_one(doc! { "_id": format!("{worker}-{n}"), "file": id })
                        .await?;
                    Ok::<_, mongodb::error::Error>(())
                }
                .await;
                if written.is_ok() {
                    acknowledged.push(id);
                } else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    mongo.kill().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    mongo.restart().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, std::sync::atomic::Ordering::Release);
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.expect("writer"));
    }
    let files = db.collection::<Document>("fs.files");
    let mut lost = 0;
    for id in &acknowledged {
        if files
            .find_one(doc! { "_id": id })
            .await
            .expect("find")
            .is_none()
        {
            lost += 1;
        }
    }
    (acknowledged.len(), lost)
}

#[tokio::test]
#[ignore = "a diagnosis of the MongoDB stand-in, not of our code; `make chaos` runs it"]
async fn the_stand_in_keeps_acknowledged_gridfs_writes_through_a_kill() {
    for journaled in [false, true] {
        let (acknowledged, lost) = driver_only_losses(journaled).await;
        eprintln!(
            "FAULTS stand-in alone (driver only, journaled majority: {journaled}): \
             {acknowledged} uploads acknowledged, {lost} files lost"
        );
        assert_eq!(lost, 0, "the stand-in lost acknowledged GridFS writes");
    }
}
