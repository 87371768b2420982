//! Erasing a creator, then the brand that hired her: their profiles,
//! pitches, posts, reviews and pictures go; what the other party needs
//! stays without them (the accepted application, the approved deliverable,
//! the stars a rating gave); the brand's campaigns close and the creators
//! still on them are told.

use avenue_tests::api::{spawn_stack, Stack, TestUser};
use mongodb::bson::{doc, oid::ObjectId};
use reqwest::Method;
use serde_json::{json, Value};

use super::{brand, campaign, package};

async fn erase(stack: &Stack, admin: &TestUser, who: &TestUser) -> Value {
    stack
        .api
        .expect(
            200,
            Method::POST,
            &format!("/api/users/{}/erase", who.id),
            Some(&admin.token),
            Some(json!({ "confirm_email": who.email })),
        )
        .await
}

/// A creator named `name`, with an uploaded picture; answers her and the
/// picture's media id.
async fn creator_with_picture(
    stack: &Stack,
    name: &str,
    handle: &str,
    seed: u8,
) -> (TestUser, String) {
    let api = &stack.api;
    let user = api.user("creator").await;
    let picture = api.upload_id(&user, seed).await;
    api.put_my_creator(
        &user,
        json!({ "name": name, "bio": format!("Soy {name}"), "niches": ["moda"],
                "handles": { "instagram": handle }, "profile_image": picture }),
    )
    .expect(201)
    .await;
    (user, picture)
}

/// `creator` applies to `campaign` and `brand` accepts; answers the application id.
async fn hired(
    stack: &Stack,
    brand: &TestUser,
    creator: &TestUser,
    campaign: &str,
    pitch: &str,
) -> String {
    let api = &stack.api;
    let applied = api
        .apply_to(creator, campaign, json!({ "pitch": pitch }))
        .expect(201)
        .await;
    let id = applied["id"].as_str().expect("application id").to_owned();
    api.accept_application(brand, &id).expect(200).await;
    id
}

#[tokio::test]
async fn erasing_a_creator_then_her_brand_keeps_only_what_the_other_side_needs() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let plan = package(&stack, &admin, 2).await;
    let shop = brand(&stack, Some((&plan, &admin))).await;
    let tag = &uuid::Uuid::new_v4().simple().to_string()[..10];
    let (eva, picture) =
        creator_with_picture(&stack, &format!("Eva {tag}"), &format!("@eva_{tag}"), 7).await;
    let (fio, _) = creator_with_picture(&stack, "Fio", "@fio", 8).await;
    let summer = campaign(&stack, &shop, 2, json!({})).await;
    let winter = campaign(&stack, &shop, 1, json!({})).await;
    for id in [&summer, &winter] {
        api.publish_campaign(&shop, id).expect(200).await;
    }

    // Eva is hired, delivers, is reviewed and rates; Fio is hired too; a
    // second application of Eva's waits.
    let pitch = format!("pitch {tag}");
    let application = hired(&stack, &shop, &eva, &summer, &pitch).await;
    hired(&stack, &shop, &fio, &summer, "Fio quiere").await;
    api.apply_to(&eva, &winter, json!({ "pitch": pitch }))
        .expect(201)
        .await;
    let post = format!("https://www.instagram.com/reel/{tag}/");
    let delivered = api
        .submit_deliverable(&eva, &application, json!({ "post_url": post }))
        .expect(201)
        .await;
    let deliverable = delivered["id"].as_str().expect("id").to_owned();
    api.approve_deliverable(&shop, &deliverable)
        .expect(200)
        .await;
    let ratings_path = format!("/api/ugc/deliverables/{deliverable}/ratings");
    for (who, review) in [
        (&shop, format!("brand says {tag}")),
        (&eva, format!("eva says {tag}")),
    ] {
        api.expect(
            201,
            Method::POST,
            &ratings_path,
            Some(&who.token),
            Some(json!({ "stars": 4, "review": review })),
        )
        .await;
    }
    let brand_id = api.my_brand(&shop).expect(200).await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let secrets = [
        eva.email.clone(),
        format!("Eva {tag}"),
        format!("@eva_{tag}"),
        pitch.clone(),
        post.clone(),
        format!("brand says {tag}"),
        format!("eva says {tag}"),
    ];
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert!(
        api.mentions(&secrets).await.len() >= 6,
        "the test saw the data first"
    );

    let report = erase(&stack, &admin, &eva).await;
    assert_eq!(report["media_erased"], 1, "her picture: {report}");
    let left = api.mentions(&secrets).await;
    assert!(left.is_empty(), "personal data left: {left:#?}");
    let picture_now = stack
        .media
        .admin(Method::GET, &format!("/v1/media/{picture}"))
        .send()
        .await
        .expect("media");
    assert_eq!(picture_now.status(), 404);

    // Her profile is gone; the brand keeps the hire, the work and her stars.
    let count = |collection: &'static str, filter| api.count(collection, filter);
    let eva_id = ObjectId::parse_str(&eva.id).expect("id");
    assert_eq!(count("ugc_creators", doc! { "user_id": eva_id }).await, 0);
    assert_eq!(
        count(
            "ugc_applications",
            doc! { "creator_user_id": eva_id, "status": "accepted" }
        )
        .await,
        1
    );
    assert_eq!(
        count(
            "ugc_applications",
            doc! { "creator_user_id": eva_id, "status": "pending" }
        )
        .await,
        0,
        "withdrawn"
    );
    let work = api
        .expect(
            200,
            Method::GET,
            &format!("/api/ugc/deliverables?campaign_id={summer}"),
            Some(&shop.token),
            None,
        )
        .await;
    let work = work
        .as_array()
        .and_then(|w| w.first())
        .cloned()
        .expect("deliverable kept");
    assert_eq!(work["status"], "approved");
    assert_eq!(work["post_url"], "");
    let ratings = api
        .expect(
            200,
            Method::GET,
            &format!("/api/ugc/brands/{brand_id}/ratings"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(ratings.as_array().map(Vec::len), Some(1), "{ratings}");
    assert_eq!(ratings[0]["stars"], 4);
    assert_eq!(api.my_brand(&shop).expect(200).await["rating_count"], 1);
    let shown = api.campaign(&shop, &summer).expect(200).await;
    assert_eq!(shown["accepted"], 2, "the slot she took stays taken");

    // The brand goes: its campaigns close, Fio is told, the plan is history.
    let fio_before = count("ugc_notifications", doc! { "kind": "campaign-closed" }).await;
    let company = api.my_brand(&shop).expect(200).await["company"]
        .as_str()
        .expect("company")
        .to_owned();
    erase(&stack, &admin, &shop).await;
    let left = api.mentions(&[&shop.email, &company]).await;
    assert!(left.is_empty(), "personal data left: {left:#?}");
    for id in [&summer, &winter] {
        let closed = api.campaign(&admin, id).expect(200).await;
        assert_eq!(closed["status"], "closed");
    }
    let fio_id = ObjectId::parse_str(&fio.id).expect("id");
    assert_eq!(
        count("ugc_notifications", doc! { "kind": "campaign-closed" }).await,
        fio_before + 1
    );
    assert_eq!(
        count(
            "ugc_notifications",
            doc! { "kind": "campaign-closed", "user_id": fio_id }
        )
        .await,
        1
    );
    assert_eq!(
        count("ugc_subscription_history", doc! { "outcome": "cancelled" }).await,
        1
    );
    stack.stop().await;
}
