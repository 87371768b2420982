//! One brand's whole journey: package, campaign, applications (accepted
//! under a race), deliverables with review history, metrics, ratings and
//! the notifications every step leaves.

use avenue_tests::api::{assert_status_counts, spawn_stack, TestUser};
use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

use super::{brand, campaign, creator, package};

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
        .report_metrics(
            first,
            &deliverable,
            json!({ "views": -1, "likes": 0, "comments": 0, "shares": 0 }),
        )
        .expect(422)
        .await;
    assert_eq!(negative["field"], "views");
    api.report_metrics(
        &brand_user,
        &deliverable,
        json!({ "views": 1, "likes": 0, "comments": 0, "shares": 0 }),
    )
    .expect(403)
    .await;
    api.report_metrics(
        first,
        &deliverable,
        json!({ "views": 1000, "likes": 100, "comments": 10, "shares": 5 }),
    )
    .expect(201)
    .await;
    api.report_metrics(
        first,
        &deliverable,
        json!({ "views": 2000, "likes": 150, "comments": 20, "shares": 10 }),
    )
    .expect(201)
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
    // Each profile's ratings, readable by anyone signed in.
    let reader = dani.token.clone();
    let received = |path: String| {
        let reader = reader.clone();
        async move {
            api.expect(200, Method::GET, &path, Some(&reader), None)
                .await
        }
    };
    let creator_ratings = received(format!(
        "/api/ugc/creators/{}/ratings",
        rated["id"].as_str().unwrap_or_default()
    ))
    .await;
    assert_eq!(creator_ratings[0]["stars"], 5, "{creator_ratings}");
    assert_eq!(creator_ratings[0]["review"], "¡Excelente!");
    assert_eq!(creator_ratings[0]["deliverable_id"], deliverable.as_str());
    let brand_ratings = received(format!(
        "/api/ugc/brands/{}/ratings",
        brand_now["id"].as_str().unwrap_or_default()
    ))
    .await;
    assert_eq!(brand_ratings.as_array().map(Vec::len), Some(1));
    assert_eq!(brand_ratings[0]["stars"], 4);

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
    avenue_tests::old_backend::assert_adoption_leaves_ours_alone(&api.db).await;
    stack.stop().await;
}
