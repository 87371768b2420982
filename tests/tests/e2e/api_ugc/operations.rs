//! The small operations people reach for first: a creator withdraws an
//! application not yet decided, a brand deletes a draft.

use avenue_tests::api::spawn_stack;
use reqwest::Method;
use serde_json::json;

use super::{brand, campaign, creator, package};

#[tokio::test]
async fn creators_withdraw_undecided_applications_and_brands_delete_drafts() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let plan = package(&stack, &admin, 3).await;
    let brand_user = brand(&stack, Some((&plan, &admin))).await;
    let (ana, _) = creator(&stack, &["moda"]).await;
    let (bea, _) = creator(&stack, &["moda"]).await;
    let id = campaign(&stack, &brand_user, 2, json!({})).await;
    api.publish_campaign(&brand_user, &id).expect(200).await;
    let apply = |who| {
        api.apply_to(who, &id, json!({ "pitch": "Me encanta la marca" }))
            .expect(201)
    };
    let first = apply(&ana).await["id"].as_str().expect("id").to_owned();
    let path = format!("/api/ugc/applications/{first}");

    // Only the creator who applied withdraws it.
    api.expect(403, Method::DELETE, &path, Some(&brand_user.token), None)
        .await;
    api.expect(404, Method::DELETE, &path, Some(&bea.token), None)
        .await;
    api.expect(204, Method::DELETE, &path, Some(&ana.token), None)
        .await;
    api.expect(404, Method::GET, &path, Some(&ana.token), None)
        .await;
    // Withdrawn, it may be sent again; once accepted it stays.
    let again = apply(&ana).await["id"].as_str().expect("id").to_owned();
    api.accept_application(&brand_user, &again)
        .expect(200)
        .await;
    let decided = api
        .expect(
            409,
            Method::DELETE,
            &format!("/api/ugc/applications/{again}"),
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(decided["code"], "already-decided");
    let campaign_now = api.campaign(&brand_user, &id).expect(200).await;
    assert_eq!(campaign_now["accepted"], 1);

    // Drafts are deleted; a published campaign is closed instead.
    let draft = campaign(&stack, &brand_user, 1, json!({})).await;
    let draft_path = format!("/api/ugc/campaigns/{draft}");
    api.expect(404, Method::DELETE, &draft_path, Some(&bea.token), None)
        .await;
    api.expect(
        204,
        Method::DELETE,
        &draft_path,
        Some(&brand_user.token),
        None,
    )
    .await;
    api.expect(404, Method::GET, &draft_path, Some(&brand_user.token), None)
        .await;
    let published = api
        .expect(
            409,
            Method::DELETE,
            &format!("/api/ugc/campaigns/{id}"),
            Some(&brand_user.token),
            None,
        )
        .await;
    assert_eq!(published["code"], "not-a-draft");
    api.campaign(&brand_user, &id).expect(200).await;

    // The brands list: creators see the brands hiring now, admins all.
    let idle = brand(&stack, None).await;
    api.put_my_brand(&idle, json!({ "company": "Otra Marca", "contact": { "name": "Eva", "email": "eva@example.com" } }))
        .expect(200)
        .await;
    let companies = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|b| b["company"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let seen_by_creator = api
        .expect(200, Method::GET, "/api/ugc/brands", Some(&ana.token), None)
        .await;
    assert_eq!(companies(&seen_by_creator), ["Ñandutí Moda"]);
    let seen_by_admin = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/brands?limit=100",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(companies(&seen_by_admin), ["Otra Marca", "Ñandutí Moda"]);
    let searched = api
        .expect(
            200,
            Method::GET,
            "/api/ugc/brands?q=OTRA",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(companies(&searched), ["Otra Marca"]);
    let customer = api.user("customer").await;
    api.expect(
        403,
        Method::GET,
        "/api/ugc/brands",
        Some(&customer.token),
        None,
    )
    .await;
    stack.stop().await;
}

#[tokio::test]
async fn brands_cancel_subscriptions_and_read_their_history() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let plan = package(&stack, &admin, 2).await;
    let brand_user = brand(&stack, Some((&plan, &admin))).await;
    let read = |user| {
        api.json_call(Method::GET, "/api/ugc/subscriptions", Some(user), None)
            .expect(200)
    };

    let now = read(&brand_user).await;
    assert_eq!(now["current"]["status"], "active", "{now}");
    assert_eq!(now["history"].as_array().map(Vec::len), Some(0));

    let cancelled = api
        .json_call(
            Method::POST,
            "/api/ugc/subscriptions/cancel",
            Some(&brand_user),
            None,
        )
        .expect(200)
        .await;
    assert!(cancelled["subscription"].is_null(), "{cancelled}");
    let after = read(&brand_user).await;
    assert!(after["current"].is_null(), "{after}");
    assert_eq!(after["history"][0]["outcome"], "cancelled");
    assert_eq!(after["history"][0]["package_id"], plan.as_str());
    let nothing = api
        .json_call(
            Method::POST,
            "/api/ugc/subscriptions/cancel",
            Some(&brand_user),
            None,
        )
        .expect(409)
        .await;
    assert_eq!(nothing["code"], "no-subscription");

    // Nothing publishes on a cancelled plan; subscribing again works.
    let draft = campaign(&stack, &brand_user, 1, json!({})).await;
    let refused = api.publish_campaign(&brand_user, &draft).expect(409).await;
    assert_eq!(refused["code"], "no-package");
    let again = api
        .subscribe(&brand_user, json!({ "package_id": plan }))
        .expect(201)
        .await;
    assert_eq!(again["subscription"]["status"], "pending");

    // Admins read any brand's.
    let brand_id = again["id"].as_str().expect("id");
    let seen = api
        .expect(
            200,
            Method::GET,
            &format!("/api/ugc/subscriptions?brand_id={brand_id}"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(seen["current"]["status"], "pending");
    assert_eq!(seen["history"].as_array().map(Vec::len), Some(1));

    // One whose period ran out is kept as ended when the next replaces it.
    let oid = mongodb::bson::oid::ObjectId::parse_str(brand_id).expect("oid");
    let past = mongodb::bson::DateTime::from_millis(1_700_000_000_000);
    api.db
        .collection::<mongodb::bson::Document>("ugc_brands")
        .update_one(
            mongodb::bson::doc! { "_id": oid },
            mongodb::bson::doc! { "$set": { "subscription.ends_at": past } },
        )
        .await
        .expect("expired");
    api.subscribe(&brand_user, json!({ "package_id": plan }))
        .expect(201)
        .await;
    let later = read(&brand_user).await;
    // Newest closing first: the ended one closed when its period ran out.
    let outcomes: Vec<&str> = later["history"]
        .as_array()
        .map(|h| h.iter().filter_map(|e| e["outcome"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(outcomes, ["cancelled", "ended"], "{later}");
    assert_eq!(later["history"][1]["closed_at"], "2023-11-14T22:13:20Z");

    // An admin cancels for the brand (a refund, a dispute); audited.
    let for_brand = format!("/api/ugc/brands/{brand_id}/subscription/cancel");
    api.expect(403, Method::POST, &for_brand, Some(&brand_user.token), None)
        .await;
    let ended = api
        .expect(200, Method::POST, &for_brand, Some(&admin.token), None)
        .await;
    assert!(ended["subscription"].is_null(), "{ended}");
    let last = read(&brand_user).await;
    assert!(last["current"].is_null(), "{last}");
    assert_eq!(last["history"].as_array().map(Vec::len), Some(3));
    assert_eq!(last["history"][0]["outcome"], "cancelled");
    let twice = api
        .expect(409, Method::POST, &for_brand, Some(&admin.token), None)
        .await;
    assert_eq!(twice["code"], "no-subscription");
    let audit = api
        .expect(
            200,
            Method::GET,
            "/api/admin/audit-logs?action=subscription.cancel",
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(audit.as_array().map(Vec::len), Some(1), "{audit}");
    assert!(audit[0]["before"]["subscription"].is_object(), "{audit}");
    stack.stop().await;
}
