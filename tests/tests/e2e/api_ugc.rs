//! The UGC platform end to end over real HTTP: a brand with a package, a
//! campaign, applications, acceptance under a race, deliverables with
//! review history, metrics and their aggregate, mutual ratings, and the
//! notifications every step leaves; plus who may see and do what.

use avenue_tests::api::{assert_status_counts, spawn_stack, Stack, TestUser};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

fn deadline() -> String {
    let later = time::OffsetDateTime::now_utc() + time::Duration::days(20);
    later
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format")
}

async fn package(stack: &Stack, admin: &TestUser, quota: i64) -> String {
    let body = stack
        .api
        .create_package(admin, json!({ "name": format!("Plan {quota}"), "campaign_quota": quota, "price": 990000, "duration_days": 30 })).expect(201)
        .await;
    body["id"].as_str().expect("id").to_owned()
}

/// A brand with a profile; with a package, subscribed to it and (the
/// packages here are priced) activated by `admin`, as after payment.
async fn brand(stack: &Stack, package: Option<(&str, &TestUser)>) -> TestUser {
    let api = &stack.api;
    let user = api.user("brand").await;
    api.put_my_brand(
        &user,
        json!({
            "company": "Ñandutí Moda", "logo_url": "https://cdn.example.com/logo.png",
            "contact": { "name": "Ana", "email": "ana@example.com" },
        }),
    )
    .expect(201)
    .await;
    if let Some((id, admin)) = package {
        let subscribed = api
            .subscribe(&user, json!({ "package_id": id }))
            .expect(201)
            .await;
        activate(stack, admin, &subscribed).await;
    }
    user
}

/// Activates the pending subscription of `brand_view` (admin).
async fn activate(stack: &Stack, admin: &TestUser, brand_view: &Value) -> Value {
    assert_eq!(
        brand_view["subscription"]["status"], "pending",
        "{brand_view}"
    );
    let id = brand_view["id"].as_str().expect("brand id");
    stack
        .api
        .expect(
            200,
            Method::POST,
            &format!("/api/ugc/brands/{id}/subscription/activate"),
            Some(&admin.token),
            None,
        )
        .await
}

async fn creator(stack: &Stack, niches: &[&str]) -> (TestUser, String) {
    let api = &stack.api;
    let user = api.user("creator").await;
    let profile = api
        .put_my_creator(
            &user,
            json!({
                "name": "Creadora", "bio": "Moda y estilo", "niches": niches,
                "handles": { "instagram": "@creadora_py" },
                "portfolio_links": ["https://www.tiktok.com/@creadora_py"],
            }),
        )
        .expect(201)
        .await;
    let id = profile["id"].as_str().expect("id").to_owned();
    (user, id)
}

async fn campaign(stack: &Stack, owner: &TestUser, slots: i64, requirements: Value) -> String {
    let body = stack
        .api
        .create_campaign(
            owner,
            json!({
                "title": "Colección verano", "description": "Reels con la nueva colección",
                "budget": 1500000, "deliverable_types": ["reel", "story"], "deadline": deadline(),
                "requirements": requirements, "slots": slots,
            }),
        )
        .expect(201)
        .await;
    body["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn brand_hires_creators_from_campaign_to_ratings() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let plan = package(&stack, &admin, 1).await;
    let brand_user = brand(&stack, Some((&plan, &admin))).await;
    let logo = api.upload_id(&brand_user, 9).await;
    let me = api
        .expect(
            200,
            Method::PATCH,
            &format!(
                "/api/ugc/brands/{}",
                api.my_brand(&brand_user).expect(200).await["id"]
                    .as_str()
                    .expect("id")
            ),
            Some(&brand_user.token),
            Some(json!({ "logo_url": logo })),
        )
        .await;
    assert_eq!(me["logo_url"], logo);
    assert_eq!(
        stack.refs_of(&logo).await.len(),
        1,
        "a media logo is claimed"
    );

    let id = campaign(
        &stack,
        &brand_user,
        2,
        json!({ "min_level": "micro", "niches": ["moda"] }),
    )
    .await;
    api.publish_campaign(&brand_user, &id).expect(200).await;
    let second = campaign(&stack, &brand_user, 1, json!({})).await;
    let over = api.publish_campaign(&brand_user, &second).expect(409).await;
    assert_eq!(over["code"], "quota-exceeded");

    // Creators browse published campaigns; requirements are checked.
    let (ana, ana_id) = creator(&stack, &["moda", "belleza"]).await;
    let (bea, bea_id) = creator(&stack, &["moda"]).await;
    let (caro, caro_id) = creator(&stack, &["moda"]).await;
    let (dani, _) = creator(&stack, &["comida"]).await;
    let listed = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/campaigns?niche=moda",
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(
        listed.as_array().expect("list").len(),
        1,
        "drafts stay hidden"
    );
    let pitch = json!({ "pitch": "Tengo 20k seguidores en moda" });
    let path = format!("/api/ugc/campaigns/{id}/applications");
    let low = api
        .expect(
            422,
            Method::POST,
            &path,
            Some(&ana.token),
            Some(pitch.clone()),
        )
        .await;
    assert_eq!(low["code"], "requirements-not-met");
    for profile in [&ana_id, &bea_id, &caro_id] {
        api.patch_creator(&admin, profile, json!({ "level": "micro" }))
            .expect(200)
            .await;
    }
    let wrong_niche = api
        .expect(
            422,
            Method::POST,
            &path,
            Some(&dani.token),
            Some(pitch.clone()),
        )
        .await;
    assert_eq!(wrong_niche["code"], "requirements-not-met");
    let mut applications = Vec::new();
    for who in [&ana, &bea, &caro] {
        let body = api
            .expect(
                201,
                Method::POST,
                &path,
                Some(&who.token),
                Some(pitch.clone()),
            )
            .await;
        applications.push(body["id"].as_str().expect("id").to_owned());
    }
    let twice = api
        .expect(
            409,
            Method::POST,
            &path,
            Some(&ana.token),
            Some(pitch.clone()),
        )
        .await;
    assert_eq!(twice["code"], "already-applied");

    // Who sees which application.
    let seen = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/applications",
            Some(&brand_user.token),
            None,
        )
        .await;
    assert_eq!(seen.as_array().expect("list").len(), 3);
    let own = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/applications",
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(own.as_array().expect("list").len(), 1);
    api.expect(
        404,
        Method::GET,
        &format!("/api/ugc/applications/{}", applications[0]),
        Some(&bea.token),
        None,
    )
    .await;
    let other_brand = brand(&stack, None).await;
    let none = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/applications",
            Some(&other_brand.token),
            None,
        )
        .await;
    assert_eq!(none, json!([]));
    api.expect(
        404,
        Method::POST,
        &format!("/api/ugc/applications/{}/accept", applications[0]),
        Some(&other_brand.token),
        None,
    )
    .await;
    api.expect(
        403,
        Method::POST,
        &format!("/api/ugc/applications/{}/accept", applications[0]),
        Some(&ana.token),
        None,
    )
    .await;

    // Three concurrent accepts for two places: exactly two win.
    let accept_paths: Vec<String> = applications
        .iter()
        .map(|a| format!("/api/ugc/applications/{a}/accept"))
        .collect();
    let accepts = join_all(
        accept_paths
            .iter()
            .map(|p| api.call(Method::POST, p, Some(&brand_user.token), None)),
    )
    .await;
    let statuses: Vec<u16> = accepts.iter().map(|r| r.status().as_u16()).collect();
    assert_status_counts(&statuses, &[(200, 2), (409, 1)]);
    let shown = api.campaign(&ana, &id).expect(200).await;
    assert_eq!(shown["accepted"], 2);
    let winners: Vec<(&TestUser, &String)> = [&ana, &bea, &caro]
        .into_iter()
        .zip(&applications)
        .zip(&statuses)
        .filter(|(_, s)| **s == 200)
        .map(|(pair, _)| pair)
        .collect();
    let loser_application = applications
        .iter()
        .zip(&statuses)
        .find(|(_, s)| **s == 409)
        .map(|(a, _)| a)
        .expect("loser");
    let (first, first_application) = winners[0];
    let (second_creator, second_application) = winners[1];

    // Deliverables: links checked, changes requested, resubmitted, approved.
    let bad = api
        .submit_deliverable(
            first,
            first_application,
            json!({ "post_url": "javascript:alert(1)" }),
        )
        .expect(422)
        .await;
    assert_eq!(bad["field"], "post_url");
    let loser = [&ana, &bea, &caro]
        .into_iter()
        .zip(&applications)
        .find(|(_, a)| *a == loser_application)
        .map(|(u, _)| u)
        .expect("loser user");
    api.submit_deliverable(
        loser,
        loser_application,
        json!({ "post_url": "https://www.instagram.com/p/abc/" }),
    )
    .expect(409)
    .await;
    let delivered = api
        .submit_deliverable(first, first_application, json!({ "post_url": "https://www.instagram.com/reel/first/", "file_url": "https://drive.example.com/raw.mp4" })).expect(201)
        .await;
    let deliverable = delivered["id"].as_str().expect("id").to_owned();
    api.approve_deliverable(first, &deliverable)
        .expect(403)
        .await;
    api.expect(
        200,
        Method::POST,
        &format!("/api/ugc/deliverables/{deliverable}/request-changes"),
        Some(&brand_user.token),
        Some(json!({ "note": "Mostrá la etiqueta" })),
    )
    .await;
    let early = api
        .approve_deliverable(&brand_user, &deliverable)
        .expect(409)
        .await;
    assert_eq!(early["code"], "invalid-transition");
    api.expect(
        200,
        Method::POST,
        &format!("/api/ugc/deliverables/{deliverable}/resubmit"),
        Some(&first.token),
        Some(json!({ "post_url": "https://www.instagram.com/reel/first-v2/" })),
    )
    .await;
    let approved = api
        .approve_deliverable(&brand_user, &deliverable)
        .expect(200)
        .await;
    let steps: Vec<&str> = approved["history"]
        .as_array()
        .expect("history")
        .iter()
        .filter_map(|h| h["status"].as_str())
        .collect();
    assert_eq!(
        steps,
        vec!["submitted", "changes_requested", "submitted", "approved"]
    );
    assert_eq!(
        approved["post_url"],
        "https://www.instagram.com/reel/first-v2/"
    );

    // Metrics: history kept, the campaign totals use each deliverable's latest.
    let metrics = format!("/api/ugc/deliverables/{deliverable}/metrics");
    let negative = api
        .expect(
            422,
            Method::POST,
            &metrics,
            Some(&first.token),
            Some(json!({ "views": -1, "likes": 0, "comments": 0, "shares": 0 })),
        )
        .await;
    assert_eq!(negative["field"], "views");
    api.expect(
        403,
        Method::POST,
        &metrics,
        Some(&brand_user.token),
        Some(json!({ "views": 1, "likes": 0, "comments": 0, "shares": 0 })),
    )
    .await;
    api.expect(
        201,
        Method::POST,
        &metrics,
        Some(&first.token),
        Some(json!({ "views": 1000, "likes": 100, "comments": 10, "shares": 5 })),
    )
    .await;
    api.expect(
        201,
        Method::POST,
        &metrics,
        Some(&first.token),
        Some(json!({ "views": 2000, "likes": 150, "comments": 20, "shares": 10 })),
    )
    .await;
    let other = api
        .submit_deliverable(
            second_creator,
            second_application,
            json!({ "post_url": "https://www.tiktok.com/@x/video/1" }),
        )
        .expect(201)
        .await;
    let other_id = other["id"].as_str().expect("id").to_owned();
    api.expect(
        201,
        Method::POST,
        &format!("/api/ugc/deliverables/{other_id}/metrics"),
        Some(&second_creator.token),
        Some(json!({ "views": 500, "likes": 50, "comments": 5, "shares": 0 })),
    )
    .await;
    let history = api
        .expect(200, Method::GET, &metrics, Some(&brand_user.token), None)
        .await;
    assert_eq!(history.as_array().expect("list").len(), 2);
    assert_eq!(history[0]["views"], 2000, "newest first");
    let totals = api
        .expect(
            200,
            Method::GET,
            &format!("/api/ugc/campaigns/{id}/metrics"),
            Some(&brand_user.token),
            None,
        )
        .await;
    assert_eq!(totals["deliverables"], 2);
    assert_eq!(totals["views"], 2500);
    assert_eq!(totals["likes"], 200);
    assert_eq!(totals["comments"], 25);
    assert_eq!(totals["shares"], 10);
    assert_eq!(totals["engagement_rate"], 0.094);
    api.expect(
        404,
        Method::GET,
        &format!("/api/ugc/campaigns/{id}/metrics"),
        Some(&other_brand.token),
        None,
    )
    .await;

    // Ratings: once each way, only after approval, averages on profiles.
    let rate = |token: String, deliverable: String, stars: i64, status: u16| async move {
        api.expect(
            status,
            Method::POST,
            &format!("/api/ugc/deliverables/{deliverable}/ratings"),
            Some(&token),
            Some(json!({ "stars": stars, "review": "¡Excelente!" })),
        )
        .await
    };
    rate(brand_user.token.clone(), deliverable.clone(), 5, 201).await;
    rate(first.token.clone(), deliverable.clone(), 4, 201).await;
    let again = rate(brand_user.token.clone(), deliverable.clone(), 1, 409).await;
    assert_eq!(again["code"], "already-rated");
    let unapproved = rate(brand_user.token.clone(), other_id.clone(), 3, 409).await;
    assert_eq!(unapproved["code"], "not-approved");
    rate(brand_user.token.clone(), deliverable.clone(), 6, 422).await;
    let rated = api.my_creator(first).expect(200).await;
    assert_eq!(rated["rating_average"], 5.0);
    assert_eq!(rated["rating_count"], 1);
    let brand_now = api.my_brand(&brand_user).expect(200).await;
    assert_eq!(brand_now["rating_average"], 4.0);

    // Notifications: every step told the other side.
    let inbox = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/notifications",
            Some(&first.token),
            None,
        )
        .await;
    let kinds: Vec<&str> = inbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    for kind in [
        "application-accepted",
        "changes-requested",
        "deliverable-approved",
        "rating-received",
    ] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
    assert_eq!(inbox["unread"], kinds.len());
    let brand_inbox = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/notifications?unread_only=true",
            Some(&brand_user.token),
            None,
        )
        .await;
    let brand_kinds: Vec<&str> = brand_inbox["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|n| n["kind"].as_str())
        .collect();
    assert_eq!(
        brand_kinds
            .iter()
            .filter(|k| **k == "application-received")
            .count(),
        3
    );
    for kind in [
        "deliverable-submitted",
        "deliverable-resubmitted",
        "metrics-reported",
        "rating-received",
    ] {
        assert!(brand_kinds.contains(&kind), "{kind} in {brand_kinds:?}");
    }
    let one = inbox["items"][0]["id"].as_str().expect("id");
    api.expect(
        404,
        Method::POST,
        &format!("/api/ugc/notifications/{one}/read"),
        Some(&brand_user.token),
        None,
    )
    .await;
    api.expect(
        204,
        Method::POST,
        &format!("/api/ugc/notifications/{one}/read"),
        Some(&first.token),
        None,
    )
    .await;
    let after = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/notifications",
            Some(&first.token),
            None,
        )
        .await;
    assert_eq!(after["unread"], kinds.len() - 1);
    api.expect(
        204,
        Method::POST,
        "/api/ugc/notifications/read-all",
        Some(&first.token),
        None,
    )
    .await;
    let cleared = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/notifications",
            Some(&first.token),
            None,
        )
        .await;
    assert_eq!(cleared["unread"], 0);

    // Closing the campaign tells the accepted creators.
    api.close_campaign(&brand_user, &id).expect(200).await;
    let closed = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/notifications?unread_only=true",
            Some(&second_creator.token),
            None,
        )
        .await;
    assert!(closed["items"]
        .as_array()
        .expect("items")
        .iter()
        .any(|n| n["kind"] == "campaign-closed"));
    api.expect(409, Method::POST, &path, Some(&dani.token), Some(pitch))
        .await;
    stack.stop().await;
}

#[tokio::test]
async fn profiles_campaigns_and_packages_follow_their_rules() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let customer = api.user("customer").await;
    api.put_my_creator(&customer, json!({ "name": "X" }))
        .expect(403)
        .await;
    api.put_my_brand(
        &customer,
        json!({ "company": "X", "contact": { "name": "X", "email": "x@example.com" } }),
    )
    .expect(403)
    .await;
    let (creator_user, creator_id) = creator(&stack, &["moda"]).await;
    for (body, field) in [
        (
            json!({ "name": "A", "portfolio_links": ["ftp://example.com/x"] }),
            "portfolio_links[0]",
        ),
        (
            json!({ "name": "A", "profile_image": "not a url" }),
            "profile_image",
        ),
        (
            json!({ "name": "A", "handles": { "instagram": "no spaces allowed" } }),
            "handles.instagram",
        ),
        (
            json!({ "name": "A", "niches": ["a","b","c","d","e","f","g","h","i","j","k"] }),
            "niches",
        ),
    ] {
        let refused = api.put_my_creator(&creator_user, body).expect(422).await;
        assert_eq!(refused["field"], field, "{refused}");
    }
    // Updating the own profile answers 200 and keeps one profile.
    api.put_my_creator(&creator_user, json!({ "name": "Nueva" }))
        .expect(200)
        .await;
    assert_eq!(api.count("ugc_creators", mongodb::bson::doc! {}).await, 1);
    let level = api
        .patch_creator(&creator_user, &creator_id, json!({ "level": "macro" }))
        .expect(403)
        .await;
    assert_eq!(level["code"], "forbidden");
    let (other_creator, _) = creator(&stack, &["moda"]).await;
    api.patch_creator(&other_creator, &creator_id, json!({ "bio": "hacked" }))
        .expect(403)
        .await;

    // A brand without a package cannot publish; one brand cannot touch another's campaign.
    let brand_a = brand(&stack, None).await;
    let brand_b = brand(&stack, None).await;
    let draft = campaign(&stack, &brand_a, 1, json!({})).await;
    let unpaid = api.publish_campaign(&brand_a, &draft).expect(409).await;
    assert_eq!(unpaid["code"], "no-package");
    api.publish_campaign(&brand_b, &draft).expect(404).await;
    api.campaign(&creator_user, &draft).expect(404).await;
    let brand_a_id = api.my_brand(&brand_a).expect(200).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    api.patch_brand(&brand_b, &brand_a_id, json!({ "company": "Mine now" }))
        .expect(403)
        .await;
    api.patch_brand(
        &admin,
        &brand_a_id,
        json!({ "company": "Renamed by admin" }),
    )
    .expect(200)
    .await;
    for (body, field) in [
        (
            json!({ "title": "T", "budget": -1, "deliverable_types": ["reel"], "deadline": deadline(), "slots": 1 }),
            "budget",
        ),
        (
            json!({ "title": "T", "budget": 1, "deliverable_types": [], "deadline": deadline(), "slots": 1 }),
            "deliverable_types",
        ),
        (
            json!({ "title": "T", "budget": 1, "deliverable_types": ["reel"], "deadline": "2020-01-01T00:00:00Z", "slots": 1 }),
            "deadline",
        ),
        (
            json!({ "title": "T", "budget": 1, "deliverable_types": ["reel"], "deadline": deadline(), "slots": 0 }),
            "slots",
        ),
    ] {
        let refused = api.create_campaign(&brand_a, body).expect(422).await;
        assert_eq!(refused["field"], field, "{refused}");
    }
    let bad_type = api.create_campaign(&brand_a, json!({
        "title": "T", "budget": 1, "deliverable_types": ["billboard"], "deadline": deadline(), "slots": 1 })).expect(422).await;
    assert_eq!(bad_type["code"], "invalid-field");

    // Quota under a race: four drafts published at once on a plan of two.
    let plan = package(&stack, &admin, 2).await;
    let subscribed = api
        .subscribe(&brand_a, json!({ "package_id": plan }))
        .expect(201)
        .await;
    activate(&stack, &admin, &subscribed).await;
    let twice = api
        .subscribe(&brand_a, json!({ "package_id": plan }))
        .expect(409)
        .await;
    assert_eq!(twice["code"], "already-subscribed");
    let mut drafts = vec![draft];
    for _ in 0..3 {
        drafts.push(campaign(&stack, &brand_a, 1, json!({})).await);
    }
    let publish_paths: Vec<String> = drafts
        .iter()
        .map(|d| format!("/api/ugc/campaigns/{d}/publish"))
        .collect();
    let published = join_all(
        publish_paths
            .iter()
            .map(|p| api.call(Method::POST, p, Some(&brand_a.token), None)),
    )
    .await;
    let statuses: Vec<u16> = published.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        2,
        "{statuses:?}"
    );
    let me = api.my_brand(&brand_a).expect(200).await;
    assert_eq!(me["subscription"]["used"], 2);
    // Pause and resume cost nothing; a paused campaign takes no applications.
    let live = drafts
        .iter()
        .zip(&statuses)
        .find(|(_, s)| **s == 200)
        .map(|(d, _)| d.clone())
        .expect("published");
    api.pause_campaign(&brand_a, &live).expect(200).await;
    let closed_for_now = api
        .apply_to(&creator_user, &live, json!({ "pitch": "hola" }))
        .expect(409)
        .await;
    assert_eq!(closed_for_now["code"], "campaign-not-open");
    api.publish_campaign(&brand_a, &live).expect(200).await;
    let me = api.my_brand(&brand_a).expect(200).await;
    assert_eq!(me["subscription"]["used"], 2);
    let packages = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/packages",
            Some(&creator_user.token),
            None,
        )
        .await;
    assert_eq!(packages.as_array().expect("list").len(), 1);
    api.create_package(
        &brand_a,
        json!({ "name": "Free", "campaign_quota": 99, "price": 0, "duration_days": 30 }),
    )
    .expect(403)
    .await;
    stack.stop().await;
}

#[tokio::test]
async fn a_priced_package_counts_only_once_activated() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let priced = package(&stack, &admin, 3).await;
    let brand_user = brand(&stack, None).await;
    let pending = api
        .subscribe(&brand_user, json!({ "package_id": priced }))
        .expect(201)
        .await;
    assert_eq!(pending["subscription"]["status"], "pending");
    assert_eq!(pending["subscription"]["price"], 990000);
    let draft = campaign(&stack, &brand_user, 1, json!({})).await;
    let refused = api.publish_campaign(&brand_user, &draft).expect(409).await;
    assert_eq!(refused["code"], "payment-pending");
    // Waiting is not a way round it: a second request is refused too.
    let again = api
        .subscribe(&brand_user, json!({ "package_id": priced }))
        .expect(409)
        .await;
    assert_eq!(again["code"], "already-subscribed");

    // Only an admin activates, once; the period starts then.
    let brand_id = pending["id"].as_str().expect("id");
    let path = format!("/api/ugc/brands/{brand_id}/subscription/activate");
    api.expect(403, Method::POST, &path, Some(&brand_user.token), None)
        .await;
    let active = activate(&stack, &admin, &pending).await;
    assert_eq!(active["subscription"]["status"], "active");
    assert_eq!(active["subscription"]["used"], 0);
    let twice = api
        .expect(409, Method::POST, &path, Some(&admin.token), None)
        .await;
    assert_eq!(twice["code"], "not-pending");
    api.publish_campaign(&brand_user, &draft).expect(200).await;
    let audit = api
        .expect(
            200,
            Method::GET,
            &format!("/api/admin/audit-logs?record_id={brand_id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert!(
        audit.to_string().contains("subscription.activate"),
        "{audit}"
    );

    // A free package is active at once.
    let free = api
        .create_package(
            &admin,
            json!({ "name": "Gratis", "campaign_quota": 1, "price": 0, "duration_days": 30 }),
        )
        .expect(201)
        .await;
    let other = brand(&stack, None).await;
    let subscribed = api
        .subscribe(&other, json!({ "package_id": free["id"] }))
        .expect(201)
        .await;
    assert_eq!(subscribed["subscription"]["status"], "active");
    stack.stop().await;
}

/// A published campaign of `brand_user` asking for reel and story, with
/// `creators` applied and accepted; answers the campaign and applications.
async fn running_campaign(
    stack: &Stack,
    brand_user: &TestUser,
    creators: &[&TestUser],
) -> (String, Vec<String>) {
    let api = &stack.api;
    let id = campaign(stack, brand_user, 4, json!({})).await;
    api.publish_campaign(brand_user, &id).expect(200).await;
    let mut applications = Vec::new();
    for creator in creators {
        let applied = api
            .apply_to(creator, &id, json!({ "pitch": "Me encanta la marca" }))
            .expect(201)
            .await;
        let application = applied["id"].as_str().expect("id").to_owned();
        api.accept_application(brand_user, &application)
            .expect(200)
            .await;
        applications.push(application);
    }
    (id, applications)
}

#[tokio::test]
async fn deliverables_stop_at_what_the_campaign_asks_and_when_it_closes() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let plan = package(&stack, &admin, 2).await;
    let brand_user = brand(&stack, Some((&plan, &admin))).await;
    let (ana, _) = creator(&stack, &["moda"]).await;
    let (bea, _) = creator(&stack, &["moda"]).await;
    let (campaign_id, applications) = running_campaign(&stack, &brand_user, &[&ana, &bea]).await;
    let submit = |application: &str| format!("/api/ugc/applications/{application}/deliverables");
    let body = |n: usize| json!({ "post_url": format!("https://www.instagram.com/reel/{n}/") });

    // Reel and story: two deliverables, not a third.
    for n in 0..2 {
        api.expect(
            201,
            Method::POST,
            &submit(&applications[0]),
            Some(&ana.token),
            Some(body(n)),
        )
        .await;
    }
    let third = api
        .expect(
            409,
            Method::POST,
            &submit(&applications[0]),
            Some(&ana.token),
            Some(body(2)),
        )
        .await;
    assert_eq!(third["code"], "deliverables-complete");

    // Six at once from the other creator: exactly two are stored.
    let paths: Vec<String> = (0..6).map(|_| submit(&applications[1])).collect();
    let raced = join_all(
        paths
            .iter()
            .enumerate()
            .map(|(n, p)| api.call(Method::POST, p, Some(&bea.token), Some(body(n)))),
    )
    .await;
    let statuses: Vec<u16> = raced.iter().map(|r| r.status().as_u16()).collect();
    assert_status_counts(&statuses, &[(201, 2), (409, 4)]);
    let stored = api
        .expect(
            200,
            Method::GET,
            &format!("/api/ugc/deliverables?campaign_id={campaign_id}"),
            Some(&brand_user.token),
            None,
        )
        .await;
    assert_eq!(stored.as_array().map(Vec::len), Some(4));

    // A closed campaign takes no more.
    let (other_campaign, others) = running_campaign(&stack, &brand_user, &[&ana]).await;
    api.close_campaign(&brand_user, &other_campaign)
        .expect(200)
        .await;
    let closed = api
        .expect(
            409,
            Method::POST,
            &submit(&others[0]),
            Some(&ana.token),
            Some(body(9)),
        )
        .await;
    assert_eq!(closed["code"], "campaign-closed");
    stack.stop().await;
}
