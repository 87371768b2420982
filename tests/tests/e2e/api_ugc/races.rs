//! Rules that compare two fields of one record, raced by the two writers
//! that change either field: the rule must hold in the record whatever
//! order the writes land in.

use avenue_tests::api::spawn_stack;
use futures::future::join_all;
use futures::FutureExt;
use reqwest::Method;
use serde_json::{json, Value};

use super::{brand, campaign, creator, deadline, package};

/// Seen: with a paused campaign holding 6 pending applications, a `PUT`
/// down to one slot raced against accepting all 6 left `slots: 1,
/// accepted: 6`, in 15 of 15 tries.
#[tokio::test]
async fn a_campaign_never_accepts_more_creators_than_its_slots() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let plan = package(&stack, &admin, 10).await;
    let brand_user = brand(&stack, Some((&plan, &admin))).await;
    let mut creators = Vec::new();
    for _ in 0..6 {
        creators.push(creator(&stack, &["moda"]).await.0);
    }
    for round in 0..3 {
        let id = campaign(&stack, &brand_user, 6, json!({})).await;
        api.publish_campaign(&brand_user, &id).expect(200).await;
        let mut applications = Vec::new();
        for creator in &creators {
            let applied = api
                .apply_to(creator, &id, json!({ "pitch": "Me encanta la marca" }))
                .expect(201)
                .await;
            applications.push(applied["id"].as_str().expect("id").to_owned());
        }
        api.pause_campaign(&brand_user, &id).expect(200).await;

        let put = api
            .json_call(
                Method::PUT,
                &format!("/api/ugc/campaigns/{id}"),
                Some(&brand_user),
                Some(terms(1)),
            )
            .send()
            .map(|r| (usize::MAX, r));
        let accepts = applications.iter().enumerate().map(|(i, a)| {
            api.accept_application(&brand_user, a)
                .send()
                .map(move |r| (i, r))
        });
        let mut racers: Vec<_> = accepts.map(FutureExt::boxed).collect();
        racers.insert(round % 6, put.boxed());
        let answers = join_all(racers).await;

        let mut put_status = 0;
        let mut accepted = 0;
        for (who, response) in answers {
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            if who == usize::MAX {
                put_status = status;
                assert!(matches!(status, 200 | 422), "PUT: {status} {body}");
                if status == 422 {
                    assert_eq!(body["field"], "slots", "{body}");
                }
            } else {
                assert!(matches!(status, 200 | 409), "accept: {status} {body}");
                accepted += usize::from(status == 200);
            }
        }
        let stored = api.campaign(&brand_user, &id).expect(200).await;
        let (slots, stored_accepted) = (stored["slots"].as_i64(), stored["accepted"].as_i64());
        assert_eq!(
            stored_accepted,
            Some(accepted as i64),
            "round {round}: {stored}"
        );
        assert!(stored_accepted <= slots, "round {round}: {stored}");
        if put_status == 200 {
            assert_eq!(slots, Some(1), "round {round}: {stored}");
            assert!(
                accepted <= 1,
                "round {round}: {accepted} accepted with one slot"
            );
        } else {
            assert!(
                accepted > 1,
                "round {round}: the PUT was refused with {accepted} accepted"
            );
        }
    }
    stack.stop().await;
}

fn terms(slots: i64) -> Value {
    json!({
        "title": "Colección verano", "description": "Reels con la nueva colección",
        "budget": 1500000, "deliverable_types": ["reel", "story"], "deadline": deadline(),
        "requirements": {}, "slots": slots,
    })
}
