//! The media library page in real headless Chromium: sign in with the
//! api's login, upload two images and a refused file (progress and error
//! shown), find the images in the grid, edit alt text, copy a preset URL
//! and a signed one and fetch them, and delete (refused while in use).
//! A screenshot of the grid is kept in `target/test-artifacts/`.

use avenue_tests::browser::Browser;
use avenue_tests::scratch::ScratchDir;
use avenue_tests::{fixtures, mongo_uri, spawn_api_with, spawn_media_with};
use fantoccini::Locator;
use reqwest::Method;
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

#[tokio::test]
async fn an_admin_manages_the_library_in_a_browser() {
    // The api's port is chosen first: media's sign-in forwards to it.
    let api_port = free_port();
    let media = spawn_media_with(|s| {
        s.api_url = url::Url::parse(&format!("http://127.0.0.1:{api_port}")).expect("url");
        s.limits.max_upload_bytes = 60_000;
    })
    .await;
    let api = spawn_api_with(&mongo_uri(), &media.db_name, &media.address, |s| {
        s.bind = ([127, 0, 0, 1], api_port).into();
    })
    .await;
    let admin = api.admin().await;
    let customer = api.user("customer").await;
    let scratch = ScratchDir::new("page");
    let dir = scratch.path();
    let red = dir.join("red-dress.png");
    let blue = dir.join("blue-dress.jpg");
    let fake = dir.join("not-an-image.png");
    std::fs::write(&red, fixtures::png(64, 48, 10)).expect("write");
    std::fs::write(&blue, fixtures::jpeg(80, 60, 20)).expect("write");
    std::fs::write(&fake, b"this is only text pretending to be a PNG").expect("write");
    let huge = dir.join("huge.png");
    std::fs::write(&huge, fixtures::noise_png(200, 200, 3)).expect("write");

    let browser = Browser::start().await;
    let page = &browser.client;
    page.goto(&media.url("/admin/media"))
        .await
        .expect("open the page");

    // A customer is refused; the admin gets in.
    let refusal = sign_in_through_the_page(&browser, &customer.email, &customer.password).await;
    assert!(refusal.contains("admins"), "{refusal}");
    assert_eq!(
        sign_in_through_the_page(&browser, &admin.email, &admin.password).await,
        "library"
    );

    // Two images and a refused file, each with its own row and progress bar.
    let files = [&red, &blue, &fake, &huge]
        .map(|p| p.to_str().expect("utf-8").to_owned())
        .join("\n");
    page.find(Locator::Id("file-input"))
        .await
        .expect("file input")
        .send_keys(&files)
        .await
        .expect("choose files");
    browser
        .until("document.querySelectorAll('#uploads .upload.done, #uploads .upload.failed').length === 4")
        .await;
    let rows = browser
        .eval("[...document.querySelectorAll('#uploads .upload')].map(r => ({name: r.querySelector('.name').textContent, cls: r.className, status: r.querySelector('.status').textContent, progress: r.querySelector('progress').value}))")
        .await;
    let rows = rows.as_array().expect("rows");
    for row in rows {
        let name = row["name"].as_str().expect("name");
        let class = row["cls"].as_str().expect("class");
        let status = row["status"].as_str().expect("status");
        if name == "not-an-image.png" {
            assert!(class.contains("failed"), "{row}");
            assert!(
                status.starts_with("refused:") && status.contains("not a JPEG"),
                "{row}"
            );
        } else if name == "huge.png" {
            assert!(class.contains("failed"), "{row}");
            assert!(status.contains("larger than"), "{row}");
        } else {
            assert!(
                row["cls"].as_str().expect("class").contains("done"),
                "{row}"
            );
            assert_eq!(row["progress"], 100, "{row}");
        }
    }

    // Refusals in a row on the browser's few keep-alive connections: each
    // one reaches the page whole, with its reason (a reset would show as a
    // network error instead), and the connections stay usable.
    let mut refused_files = Vec::new();
    for n in 0..6 {
        let big = dir.join(format!("big-{n}.png"));
        std::fs::write(&big, fixtures::noise_png(200, 200, 40 + n)).expect("write");
        let text = dir.join(format!("text-{n}.jpg"));
        std::fs::write(&text, "not a JPEG at all; ".repeat(2500)).expect("write");
        refused_files.push(big);
        refused_files.push(text);
    }
    let batch = refused_files
        .iter()
        .map(|p| p.to_str().expect("utf-8").to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    page.find(Locator::Id("file-input"))
        .await
        .expect("file input")
        .send_keys(&batch)
        .await
        .expect("choose files");
    browser
        .until("document.querySelectorAll('#uploads .upload.done, #uploads .upload.failed').length === 16")
        .await;
    let statuses = browser
        .eval("[...document.querySelectorAll('#uploads .upload')].slice(4).map(r => r.querySelector('.name').textContent + ' => ' + r.querySelector('.status').textContent)")
        .await;
    let statuses = statuses.as_array().expect("rows");
    assert_eq!(statuses.len(), 12);
    for row in statuses {
        let row = row.as_str().expect("text");
        let expected = if row.starts_with("big-") {
            "larger than"
        } else {
            "not a JPEG"
        };
        assert!(row.contains(expected), "{row}");
    }

    // Both images are in the grid, thumbnails loaded through the preset URLs.
    browser
        .until("document.querySelectorAll('#grid .card').length === 2")
        .await;
    browser
        .until("[...document.querySelectorAll('#grid .card img')].every(i => i.complete && i.naturalWidth > 0)")
        .await;
    let more_shown = browser
        .eval("getComputedStyle(document.getElementById('more')).display !== 'none'")
        .await;
    assert_eq!(more_shown, false, "no further page, no 'Load more'");
    let artifacts =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts");
    std::fs::create_dir_all(&artifacts).expect("artifacts dir");
    let shot = page.screenshot().await.expect("screenshot");
    assert!(
        shot.starts_with(&[0x89, b'P', b'N', b'G']),
        "a PNG screenshot"
    );
    std::fs::write(artifacts.join("media-grid.png"), &shot).expect("keep the screenshot");

    // Open one, edit its alt text.
    let ids: Vec<String> = browser
        .eval("[...document.querySelectorAll('#grid .card')].map(c => c.dataset.id)")
        .await
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let (first, second) = (&ids[0], &ids[1]);
    page.find(Locator::Css(&format!(".card[data-id='{first}']")))
        .await
        .expect("card")
        .click()
        .await
        .expect("open");
    browser
        .until(&format!(
            "document.getElementById('detail-id').textContent === '{first}'"
        ))
        .await;
    let alt = page.find(Locator::Id("alt")).await.expect("alt");
    alt.clear().await.expect("clear");
    alt.send_keys("Vestido de seda").await.expect("type");
    page.find(Locator::Id("tags"))
        .await
        .expect("tags")
        .send_keys("seda, verano")
        .await
        .expect("type");
    page.find(Locator::Id("save"))
        .await
        .expect("save")
        .click()
        .await
        .expect("click");
    browser
        .until("document.getElementById('saved').textContent === 'Saved'")
        .await;
    // Search by tag finds only that one.
    page.find(Locator::Id("tag"))
        .await
        .expect("tag filter")
        .send_keys("seda")
        .await
        .expect("type");
    page.find(Locator::Id("search"))
        .await
        .expect("search")
        .click()
        .await
        .expect("click");
    browser
        .until(&format!(
            "document.querySelectorAll('#grid .card').length === 1 && document.querySelector('#grid .card').dataset.id === '{first}'"
        ))
        .await;
    browser
        .eval("(document.getElementById('tag').value = '', true)")
        .await;
    page.find(Locator::Id("search"))
        .await
        .expect("search")
        .click()
        .await
        .expect("click");
    browser
        .until("document.querySelectorAll('#grid .card').length === 2")
        .await;
    let stored: serde_json::Value = media
        .admin(Method::GET, &format!("/v1/media/{first}"))
        .send()
        .await
        .expect("answer")
        .json()
        .await
        .expect("json");
    assert_eq!(stored["alt"], "Vestido de seda");
    assert_eq!(stored["tags"], json!(["seda", "verano"]));
    // A library asset: kept until deleted, under the name it came with.
    assert_eq!(stored["pending"], false, "{stored}");

    // The page shows each upload's file name and that nothing uses it yet,
    // finds it by part of its name, and filters the unused ones.
    let hint = browser
        .eval("document.querySelector('#drop .hint').textContent")
        .await;
    assert!(
        hint.as_str()
            .is_some_and(|h| h.contains("until you delete") && !h.contains("a day")),
        "{hint}"
    );
    let cards = browser
        .eval("[...document.querySelectorAll('#grid .card')].map(c => c.querySelector('.name').textContent + '|' + (c.querySelector('.badge.unused') ? 'unused' : 'used')).sort()")
        .await;
    assert_eq!(
        cards,
        json!(["blue-dress.jpg|unused", "red-dress.png|unused"]),
        "{cards}"
    );
    page.find(Locator::Id("name"))
        .await
        .expect("name filter")
        .send_keys("BLUE")
        .await
        .expect("type");
    page.find(Locator::Id("unused"))
        .await
        .expect("unused filter")
        .click()
        .await
        .expect("tick");
    page.find(Locator::Id("search"))
        .await
        .expect("search")
        .click()
        .await
        .expect("click");
    browser
        .until("document.querySelectorAll('#grid .card').length === 1 && document.querySelector('#grid .card .name').textContent === 'blue-dress.jpg'")
        .await;
    browser
        .eval("(document.getElementById('name').value = '', document.getElementById('unused').checked = false, true)")
        .await;
    page.find(Locator::Id("search"))
        .await
        .expect("search")
        .click()
        .await
        .expect("click");
    browser
        .until("document.querySelectorAll('#grid .card').length === 2")
        .await;

    // Copy a preset URL and a signed custom one; both deliver images.
    page.find(Locator::Id("preset"))
        .await
        .expect("select")
        .select_by_value("card")
        .await
        .expect("choose");
    page.find(Locator::Id("copy"))
        .await
        .expect("copy")
        .click()
        .await
        .expect("click");
    browser
        .until("document.getElementById('link-status').textContent !== ''")
        .await;
    let preset_url = browser.eval("document.getElementById('url').value").await;
    let preset_url = preset_url.as_str().expect("url");
    assert!(
        preset_url.contains(&format!("/image/upload/t_card/{first}.jpg")),
        "{preset_url}"
    );
    let fetched = reqwest::get(preset_url).await.expect("answer");
    assert_eq!(fetched.status(), 200);
    assert_eq!(fetched.headers()["content-type"], "image/jpeg");
    page.find(Locator::Id("custom"))
        .await
        .expect("custom")
        .send_keys("c_scale,w_20")
        .await
        .expect("type");
    page.find(Locator::Id("sign"))
        .await
        .expect("sign")
        .click()
        .await
        .expect("click");
    browser
        .until("document.getElementById('link-status').textContent === 'Signed'")
        .await;
    let signed = browser.eval("document.getElementById('url').value").await;
    let signed = signed.as_str().expect("url");
    assert!(
        signed.contains("/s--") && signed.contains("c_scale,w_20"),
        "{signed}"
    );
    let fetched = reqwest::get(signed).await.expect("answer");
    assert_eq!(fetched.status(), 200);
    let image = image::load_from_memory(&fetched.bytes().await.expect("bytes")).expect("an image");
    assert_eq!(image.width(), 20);

    // A media in use cannot be deleted; the page says by what.
    let claimed = media
        .admin(Method::POST, &format!("/v1/media/{first}/refs"))
        .json(&json!({ "ref": "shop_products:abc123" }))
        .send()
        .await
        .expect("answer");
    assert_eq!(claimed.status(), 200);
    page.find(Locator::Id("delete"))
        .await
        .expect("delete")
        .click()
        .await
        .expect("click");
    let refused = browser
        .until("document.getElementById('delete-error').textContent")
        .await;
    assert!(
        refused
            .as_str()
            .expect("text")
            .contains("shop_products:abc123"),
        "{refused}"
    );

    // The other one goes, from the grid and from the store.
    page.find(Locator::Id("close"))
        .await
        .expect("close")
        .click()
        .await
        .expect("click");
    page.find(Locator::Css(&format!(".card[data-id='{second}']")))
        .await
        .expect("card")
        .click()
        .await
        .expect("open");
    browser
        .until(&format!(
            "document.getElementById('detail-id').textContent === '{second}'"
        ))
        .await;
    page.find(Locator::Id("delete"))
        .await
        .expect("delete")
        .click()
        .await
        .expect("click");
    browser
        .until(&format!(
            "!document.querySelector(\".card[data-id='{second}']\")"
        ))
        .await;
    let gone = media
        .admin(Method::GET, &format!("/v1/media/{second}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(gone.status(), 404);

    // Both services' reference pages render their documents in the browser.
    for docs in [media.url("/v1/docs"), api.url("/api/docs")] {
        page.goto(&docs).await.expect("open the docs");
        let operations = browser
            .until("document.querySelectorAll('#content details').length > 10 && document.querySelectorAll('#content details').length")
            .await;
        assert!(
            operations.as_u64().is_some_and(|n| n > 10),
            "{docs}: {operations}"
        );
    }

    browser.stop().await;
    drop(api);
    media.stop().await;
}

/// Signs in through the page's form as a person would; answers what the
/// page shows: `library` once in, or the sign-in error.
async fn sign_in_through_the_page(browser: &Browser, email: &str, password: &str) -> String {
    let page = &browser.client;
    browser
        .eval("(document.getElementById('signin-error').textContent = '', document.getElementById('email').value = '', document.getElementById('password').value = '', true)")
        .await;
    page.find(Locator::Id("email"))
        .await
        .expect("email")
        .send_keys(email)
        .await
        .expect("type");
    page.find(Locator::Id("password"))
        .await
        .expect("password")
        .send_keys(password)
        .await
        .expect("type");
    page.find(Locator::Id("signin"))
        .await
        .expect("button")
        .click()
        .await
        .expect("click");
    browser
        .until("document.getElementById('library').hidden ? document.getElementById('signin-error').textContent : 'library'")
        .await
        .as_str()
        .expect("text")
        .to_owned()
}

/// Others' wrong guesses, from many addresses, lock unknown clients out of
/// the admin's account; the browser that signed in before keeps the
/// page's device cookie and gets in (issue 28, finding 2, in Chromium).
#[tokio::test]
async fn others_guesses_never_lock_the_pages_admin_out() {
    let api_port = free_port();
    let media = spawn_media_with(|s| {
        s.api_url = url::Url::parse(&format!("http://127.0.0.1:{api_port}")).expect("url");
    })
    .await;
    let api = spawn_api_with(&mongo_uri(), &media.db_name, &media.address, |s| {
        s.bind = ([127, 0, 0, 1], api_port).into();
    })
    .await;
    let admin = api.admin().await;
    let browser = Browser::start().await;
    browser
        .client
        .goto(&media.url("/admin/media"))
        .await
        .expect("open the page");
    assert_eq!(
        sign_in_through_the_page(&browser, &admin.email, &admin.password).await,
        "library"
    );
    browser
        .client
        .find(Locator::Id("signout"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("click");

    // Five guesses from each of five addresses: past the account's limit
    // for unknown clients (20).
    for n in 2..=6 {
        let guesser = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 0, n]))
            .build()
            .expect("client");
        for _ in 0..5 {
            let answer = guesser
                .post(media.url("/admin/login"))
                .json(&json!({ "email": admin.email, "password": "a wrong guess" }))
                .send()
                .await
                .expect("media answers");
            assert!(
                [401, 429].contains(&answer.status().as_u16()),
                "{}",
                answer.status()
            );
        }
    }
    let unknown = reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 7]))
        .build()
        .expect("client")
        .post(media.url("/admin/login"))
        .json(&json!({ "email": admin.email, "password": admin.password }))
        .send()
        .await
        .expect("media answers");
    assert_eq!(unknown.status(), 429, "an unknown client waits");
    assert_eq!(
        sign_in_through_the_page(&browser, &admin.email, &admin.password).await,
        "library",
        "the browser that signed in before gets in"
    );
    browser.stop().await;
    drop(api);
    media.stop().await;
}
