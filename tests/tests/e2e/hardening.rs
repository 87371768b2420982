//! What an attacker or a careless client tried against media (issue 12):
//! renders that would exhaust memory, strict mode, starving the queue,
//! slow and half-open connections, refusals on keep-alive connections.

use std::time::{Duration, Instant};

use avenue_shared::{ErrorBody, MediaDescriptor};
use avenue_tests::raw::{multipart, RawConnection};
use avenue_tests::{fixtures, signed_path, spawn_media, spawn_media_with, token, MediaApp};

async fn stored(app: &MediaApp, bytes: Vec<u8>) -> MediaDescriptor {
    let response = app.upload(bytes, &[]).await;
    assert_eq!(response.status(), 201);
    response.json().await.expect("descriptor")
}

async fn error(response: reqwest::Response, status: u16, code: &str) -> ErrorBody {
    assert_eq!(response.status(), status);
    let body: ErrorBody = response.json().await.expect("JSON error envelope");
    assert_eq!(body.code, code, "{}", body.message);
    body
}

#[tokio::test]
async fn seen_renders_that_exhausted_memory_are_bounded_or_refused() {
    let app = spawn_media().await;
    let photo = stored(&app, fixtures::jpeg(3000, 2000, 3)).await;
    let file = format!("{}.jpg", photo.id);
    // Aborted the process ("memory allocation of 206158430208 bytes failed").
    let response = app
        .fetch(
            &signed_path("c_scale,w_4096,h_1/c_fill,w_4096,h_4096", &file),
            &[],
        )
        .await;
    assert_eq!(response.status(), 200);
    let image = image::load_from_memory(&response.bytes().await.expect("body")).expect("decodes");
    assert_eq!((image.width(), image.height()), (4096, 4096));
    // Answered 500 (VP8_ENC_ERROR_BAD_DIMENSION): now a 400 naming `ar`.
    for t in ["ar_0.1/f_webp", "c_fill,ar_0.1,w_500,dpr_2/f_webp"] {
        let body = error(
            app.fetch(&signed_path(t, &file), &[]).await,
            400,
            "invalid-transformation",
        )
        .await;
        assert!(body.message.starts_with("ar:"), "{t}: {}", body.message);
    }
    // A 20000x300 original is acceptable, but WebP cannot be that wide.
    let strip = stored(&app, fixtures::png(20_000, 300, 4)).await;
    let body = error(
        app.fetch(&signed_path("f_webp", &format!("{}.png", strip.id)), &[])
            .await,
        400,
        "invalid-transformation",
    )
    .await;
    assert!(body.message.starts_with("f:"), "{}", body.message);
    // The service is still there.
    assert_eq!(app.fetch("/healthz", &[]).await.status(), 200);
    app.stop().await;
}

#[tokio::test]
async fn originals_with_absurd_shapes_are_refused_at_upload() {
    let app = spawn_media().await;
    // A 1 x 50,000,000 PNG (within MEDIA_MAX_PIXELS) aborted a t_thumb render;
    // a 4000x4 one took RSS to 3.7 GiB with t_hero.
    for (width, height) in [(1, 50_000_000), (4000, 4), (30_001, 400)] {
        let body = error(
            app.upload(fixtures::png_header(width, height), &[]).await,
            422,
            "unsupported-dimensions",
        )
        .await;
        assert!(
            body.message.contains(&format!("{width}x{height}")),
            "{}",
            body.message
        );
    }
    let thin = error(
        app.upload(fixtures::png(4000, 4, 1), &[]).await,
        422,
        "unsupported-dimensions",
    )
    .await;
    assert!(thin.message.contains("100:1"), "{}", thin.message);
    assert_eq!(app.storage_counts().await, (0, 0, 0, 0));
    app.stop().await;
}

#[tokio::test]
async fn only_a_single_preset_is_served_unsigned() {
    let app = spawn_media().await;
    let d = stored(&app, fixtures::jpeg(300, 200, 5)).await;
    let file = format!("{}.jpg", d.id);
    assert_eq!(
        app.fetch(&format!("/image/upload/t_card/{file}"), &[])
            .await
            .status(),
        200
    );
    // 4^8 chains x 5 formats per media could be forced to render and be stored.
    error(
        app.fetch(&format!("/image/upload/t_hero/t_card/t_thumb/{file}"), &[])
            .await,
        403,
        "signature-required",
    )
    .await;
    assert_eq!(
        app.fetch(&signed_path("t_hero/t_card/t_thumb", &file), &[])
            .await
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn truncated_images_are_refused_at_upload_and_sizes_are_as_displayed() {
    let app = spawn_media().await;
    // Accepted with 201 before, then 422 on every render.
    let whole = fixtures::jpeg(200, 200, 8);
    let cut = whole[..whole.len() * 6 / 10].to_vec();
    error(app.upload(cut, &[]).await, 422, "unreadable-image").await;
    let png = fixtures::png(120, 80, 2);
    error(
        app.upload(png[..png.len() - 30].to_vec(), &[]).await,
        422,
        "unreadable-image",
    )
    .await;
    error(
        app.upload(fixtures::png_header(300, 300), &[]).await,
        422,
        "unreadable-image",
    )
    .await;
    assert_eq!(app.await_storage_counts((0, 0, 0, 0)).await, (0, 0, 0, 0));
    // EXIF orientation 6: stored 40x20, displayed 20x40.
    let rotated = stored(&app, fixtures::jpeg_with_orientation(40, 20, 6)).await;
    assert_eq!((rotated.width, rotated.height), (20, 40));
    app.stop().await;
}

#[tokio::test]
async fn malformed_paths_answer_the_json_envelope() {
    let app = spawn_media().await;
    for path in ["/image/upload/%FF%FE.jpg", "/v1/media/%C3%28"] {
        let response = app.fetch(path, &[]).await;
        assert!(
            response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
        let body: ErrorBody = response.json().await.expect("JSON envelope");
        assert!(!body.code.is_empty());
    }
    let response = app
        .http
        .put(app.url("/healthz"))
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), 405);
    let body: ErrorBody = response.json().await.expect("JSON envelope");
    assert_eq!(body.code, "method-not-allowed");
    app.stop().await;
}

/// Median seconds of `n` runs of `f`.
async fn median<F, Fut>(n: usize, mut f: F) -> f64
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::new();
    for i in 0..n {
        let started = Instant::now();
        f(i).await;
        times.push(started.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[n / 2]
}

#[tokio::test]
async fn heavy_renders_queued_do_not_starve_hits_or_small_renders() {
    // Seen: 40 AVIF chains made a fresh t_thumb wait 44.6 s (0.04 s idle).
    let app = spawn_media_with(|s| {
        s.delivery.strict = false;
        s.delivery.render_queue = 64;
        s.delivery.render_wait = Duration::from_secs(600);
    })
    .await;
    let big = stored(&app, fixtures::jpeg(1600, 1200, 9)).await;
    let small = stored(&app, fixtures::jpeg(300, 200, 10)).await;
    let cached = format!("/image/upload/t_thumb/{}.jpg", small.id);
    assert_eq!(app.fetch(&cached, &[]).await.status(), 200);
    let fetch_ok = |path: String| {
        let app = &app;
        async move {
            let response = app.fetch(&path, &[]).await;
            assert_eq!(response.status(), 200, "{path}");
            response.bytes().await.expect("body");
        }
    };
    let hit_idle = median(5, |_| fetch_ok(cached.clone())).await;
    let render_idle = median(5, |i| {
        fetch_ok(format!(
            "/image/upload/c_scale,w_{}/{}.jpg",
            60 + i,
            small.id
        ))
    })
    .await;

    // 40 distinct large AVIF renders, all queued behind each other.
    let mut heavy = Vec::new();
    for q in 1..=40 {
        let url = app.url(&format!(
            "/image/upload/c_scale,w_800,q_{q}/{}.avif",
            big.id
        ));
        let http = app.http.clone();
        heavy.push(tokio::spawn(async move {
            http.get(url).send().await.map(|r| r.status())
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while app
        .metric("avenue_media_renders_waiting{lane=\"heavy\"}")
        .await
        < 30.0
    {
        assert!(Instant::now() < deadline, "the heavy renders never queued");
        tokio::task::yield_now().await;
    }
    let hit_loaded = median(5, |_| fetch_ok(cached.clone())).await;
    let render_loaded = median(5, |i| {
        fetch_ok(format!(
            "/image/upload/c_scale,w_{}/{}.jpg",
            80 + i,
            small.id
        ))
    })
    .await;
    let still_waiting = app
        .metric("avenue_media_renders_waiting{lane=\"heavy\"}")
        .await;
    for task in &heavy {
        task.abort();
    }
    eprintln!(
        "hit {hit_idle:.4}s idle, {hit_loaded:.4}s loaded; small render {render_idle:.4}s idle, \
         {render_loaded:.4}s loaded; heavy still waiting {still_waiting}"
    );
    assert!(
        still_waiting >= 20.0,
        "measured while the heavy renders were queued"
    );
    assert!(
        render_loaded <= 5.0 * render_idle + 0.05,
        "a small render took {render_loaded:.3}s behind heavy ones ({render_idle:.3}s idle)"
    );
    assert!(
        hit_loaded <= 10.0 * hit_idle + 0.02,
        "a cache hit took {hit_loaded:.4}s under load ({hit_idle:.4}s idle)"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_full_render_queue_answers_503_with_retry_after() {
    let app = spawn_media_with(|s| {
        s.delivery.strict = false;
        s.delivery.render_concurrency = 2;
        s.delivery.render_queue = 2;
        s.delivery.render_wait = Duration::from_secs(120);
    })
    .await;
    let big = stored(&app, fixtures::jpeg(1600, 1200, 11)).await;
    let mut requests = Vec::new();
    for q in 1..=12 {
        let url = app.url(&format!(
            "/image/upload/c_scale,w_600,q_{q}/{}.avif",
            big.id
        ));
        let http = app.http.clone();
        requests.push(tokio::spawn(async move { http.get(url).send().await }));
    }
    let mut refused = 0;
    let mut rendered = 0;
    for request in requests {
        let response = request.await.expect("task").expect("answer");
        match response.status().as_u16() {
            200 => rendered += 1,
            503 => {
                refused += 1;
                let retry: u64 = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .expect("Retry-After in seconds");
                assert!(retry >= 1);
                assert_eq!(
                    response
                        .headers()
                        .get("cache-control")
                        .map(|v| v.as_bytes()),
                    Some(&b"no-store"[..])
                );
                let body: ErrorBody = response.json().await.expect("envelope");
                assert_eq!(body.code, "busy");
            }
            other => panic!("unexpected {other}"),
        }
    }
    // One runs (heavy lane: cores - 1), two wait; the rest are refused at once.
    assert!(refused >= 8, "refused {refused}, rendered {rendered}");
    assert!(rendered >= 1);
    assert!(
        app.metric("avenue_media_variant_renders_refused_total")
            .await
            >= 8.0
    );
    app.stop().await;
}

#[tokio::test]
async fn a_hundred_refusals_reach_the_client_on_one_keep_alive_connection() {
    let app = spawn_media().await;
    // A header declaring too many pixels, then 300 KB the server has no use
    // for: before, 1 in 20 answers was a reset and the next request on the
    // connection failed.
    let mut file = fixtures::png_header(20_000, 20_000);
    file.extend(std::iter::repeat_n(7u8, 300 * 1024));
    let (body, content_type) = multipart(&file);
    let mut connection = RawConnection::open(app.port).await;
    let token = token(avenue_shared::Role::Admin);
    for round in 0..100 {
        let mut request = format!(
            "POST /v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(&body);
        connection.send(&request).await.expect("request sent");
        let response = connection
            .read_response()
            .await
            .unwrap_or_else(|err| panic!("round {round}: {err}"));
        assert_eq!(response.status, 422, "round {round}");
        assert_eq!(response.json()["code"], "too-many-pixels", "round {round}");
        assert_ne!(
            response.header("connection"),
            Some("close"),
            "round {round}"
        );
    }
    assert_eq!(app.storage_counts().await, (0, 0, 0, 0));
    app.stop().await;
}

#[tokio::test]
async fn slow_and_silent_clients_are_cut_off() {
    let app = spawn_media_with(|s| {
        s.server.header_read_timeout = Duration::from_secs(1);
        s.server.body_stall = Duration::from_secs(2);
        s.server.min_body_rate = 1024;
        s.server.max_connections = 8;
        // The probes' reserve would answer the ninth `/healthz` (see
        // `security`); this test is about the cap itself.
        s.server.probe_connections = 0;
    })
    .await;
    // Seen: 500 half-open connections held for minutes.
    let mut silent = RawConnection::open(app.port).await;
    silent
        .send(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .expect("part of a head");
    assert!(
        silent.closed_within(Duration::from_secs(5)).await,
        "a head that never ends"
    );
    // Idle keep-alive ends too.
    let mut idle = RawConnection::open(app.port).await;
    idle.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("request");
    assert_eq!(idle.read_response().await.expect("answer").status, 200);
    assert!(
        idle.closed_within(Duration::from_secs(5)).await,
        "idle keep-alive"
    );

    // Seen: uploads at 1 byte/s held for minutes.
    let mut slow = RawConnection::open(app.port).await;
    let head = format!(
        "POST /v1/media HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {}\r\n\
         Content-Type: image/png\r\nContent-Length: 100000\r\n\r\n",
        token(avenue_shared::Role::Admin)
    );
    slow.send(head.as_bytes()).await.expect("head");
    // A trickle, then nothing: the server must answer without waiting for
    // the 100,000 bytes announced.
    for byte in fixtures::png(8, 8, 1).iter().take(15) {
        slow.send(&[*byte]).await.expect("a byte");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer = slow.read_response().await.expect("an answer, not a hang");
    assert_eq!(answer.status, 408);
    assert_eq!(answer.json()["code"], "request-timeout");
    assert_eq!(app.await_storage_counts((0, 0, 0, 0)).await, (0, 0, 0, 0));

    // A trickle that never stops (5 bytes a second, never a 2 s gap) is
    // cut off by the rate rule while it is still trickling.
    let mut trickle = RawConnection::open(app.port).await;
    trickle.send(head.as_bytes()).await.expect("head");
    let started = std::time::Instant::now();
    let mut sent = 0;
    for byte in fixtures::png(64, 64, 2).iter().take(75) {
        if trickle.send(&[*byte]).await.is_err() {
            break;
        }
        sent += 1;
        if trickle.answered_within(Duration::from_millis(200)).await {
            break;
        }
    }
    let cut_after = started.elapsed();
    assert!(sent < 75, "the whole 15 s trickle was accepted");
    let answer = trickle.read_response().await.expect("an answer");
    assert_eq!(answer.status, 408);
    assert!(
        cut_after < Duration::from_secs(10),
        "cut off after {cut_after:?} and {sent} bytes"
    );

    // No more than max_connections at once: the next is closed at once.
    let mut held = Vec::new();
    for _ in 0..8 {
        let mut c = RawConnection::open(app.port).await;
        c.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("request");
        assert_eq!(c.read_response().await.expect("answer").status, 200);
        held.push(c);
    }
    let mut extra = RawConnection::open(app.port).await;
    let _ = extra
        .send(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    assert!(
        extra.read_response().await.is_err(),
        "the ninth connection is refused"
    );
    drop(held);
    app.stop().await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_head_that_never_ends() {
    let app = spawn_media_with(|s| {
        s.server.header_read_timeout = Duration::from_secs(600);
        s.server.shutdown_deadline = Duration::from_secs(1);
    })
    .await;
    let mut stuck = RawConnection::open(app.port).await;
    stuck
        .send(b"GET /healthz HTTP/1.1\r\nHo")
        .await
        .expect("part of a head");
    // Seen: avenue-media never exited on SIGTERM.
    let stopped = tokio::time::timeout(Duration::from_secs(15), app.stop()).await;
    assert!(stopped.is_ok(), "the server stopped within its deadline");
    assert!(stuck.closed_within(Duration::from_secs(5)).await);
}

#[tokio::test]
async fn a_form_cannot_carry_unbounded_text_beside_its_file() {
    let app = spawn_media_with(|s| s.limits.max_upload_bytes = 256 * 1024).await;
    // Seen: 200 MiB of text fields accepted beside a 41 KB GIF.
    // Streamed, so no Content-Length gives the size away up front.
    let gif = fixtures::gif(20, 20, 1);
    let stream = futures::stream::once(async move { Ok::<_, std::io::Error>(gif) });
    let mut form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream)).file_name("a.gif"),
    );
    for _ in 0..200 {
        form = form.text("alt", "x".repeat(4000));
    }
    let response = app
        .admin(reqwest::Method::POST, "/v1/media")
        .multipart(form)
        .send()
        .await
        .expect("answers");
    error(response, 413, "too-large").await;
    assert_eq!(app.await_storage_counts((0, 0, 0, 0)).await, (0, 0, 0, 0));
    app.stop().await;
}
