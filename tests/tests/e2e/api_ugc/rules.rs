//! Who may see and do what on the UGC platform, and the limits a
//! campaign's terms put on applications and deliverables.

use avenue_tests::api::{assert_status_counts, spawn_stack, Stack, TestUser};
use futures::future::join_all;
use reqwest::Method;
use serde_json::json;

use super::{activate, brand, campaign, creator, deadline, package};

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
