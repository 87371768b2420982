//! Studio reservations over real HTTP: slots inside opening hours, no
//! double booking even under concurrent requests, cancellation freeing the
//! slots, availability, the admin calendar, and the confirmation email.

use avenue_tests::api::spawn_stack;
use futures::future::join_all;
use reqwest::Method;
use serde_json::json;
use time::{Duration, OffsetDateTime, UtcOffset};

/// A local date in Paraguay (UTC-3, the default offset) a few days ahead.
fn day_ahead(days: i64) -> String {
    let offset = UtcOffset::from_hms(-3, 0, 0).expect("offset");
    (OffsetDateTime::now_utc().to_offset(offset) + Duration::days(days))
        .date()
        .to_string()
}

fn at(date: &str, hour: u8) -> String {
    format!("{date}T{hour:02}:00:00-03:00")
}

#[tokio::test]
async fn one_slot_one_booking_even_under_a_race() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let date = day_ahead(3);
    let mut photographers = Vec::new();
    for _ in 0..8 {
        photographers.push(api.user("creator").await);
    }
    let results = join_all(photographers.iter().map(|p| {
        api.book(p, json!({ "start": at(&date, 10), "minutes": 60 }))
            .send()
    }))
    .await;
    let statuses: Vec<u16> = results.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );

    // Overlapping a longer booking is refused too; adjacent slots are fine.
    let other = api.user("customer").await;
    let overlap = api
        .book(&other, json!({ "start": at(&date, 9), "minutes": 120 }))
        .expect(409)
        .await;
    assert_eq!(overlap["code"], "slot-taken");
    let adjacent = api
        .book(
            &other,
            json!({ "start": at(&date, 11), "minutes": 120, "notes": "lookbook" }),
        )
        .expect(201)
        .await;
    assert_eq!(adjacent["end"], at(&date, 13));

    let slots = api
        .expect(
            200,
            Method::GET,
            &format!("/api/studio/availability?date={date}"),
            None,
            None,
        )
        .await;
    let slots = slots.as_array().expect("slots");
    assert_eq!(slots.len(), 10, "09:00 to 19:00 in hours");
    let taken: Vec<&str> = slots
        .iter()
        .filter(|s| s["free"] == false)
        .filter_map(|s| s["start"].as_str())
        .collect();
    assert_eq!(taken, vec![at(&date, 10), at(&date, 11), at(&date, 12)]);

    // Cancelling frees the slots for someone else.
    let id = adjacent["id"].as_str().expect("id");
    let stranger = api.user("customer").await;
    api.cancel_booking(&stranger, id).expect(404).await;
    api.cancel_booking(&other, id).expect(200).await;
    api.cancel_booking(&other, id).expect(409).await;
    api.book(&stranger, json!({ "start": at(&date, 12), "minutes": 60 }))
        .expect(201)
        .await;

    // Each sees their own; the admin's calendar shows every confirmed one.
    let mine = api
        .expect(
            200,
            Method::GET,
            "/api/studio/reservations",
            Some(&stranger.token),
            None,
        )
        .await;
    assert_eq!(mine.as_array().expect("list").len(), 1);
    let admin = api.admin().await;
    let calendar = api
        .expect(
            200,
            Method::GET,
            &format!("/api/studio/calendar?from={date}&to={date}"),
            Some(&admin.token),
            None,
        )
        .await;
    let day = calendar[&date].as_array().expect("that day");
    assert_eq!(day.len(), 2, "{calendar}");
    let emails = api
        .expect(
            200,
            Method::GET,
            "/api/admin/email-logs?limit=200",
            Some(&admin.token),
            None,
        )
        .await;
    let confirmations = emails
        .as_array()
        .expect("list")
        .iter()
        .filter(|e| e["template"] == "reservation-confirmation")
        .count();
    assert_eq!(confirmations, 3, "one per successful booking");
    avenue_tests::old_backend::assert_adoption_leaves_ours_alone(&stack.api.db).await;
    stack.stop().await;
}

#[tokio::test]
async fn bookings_follow_the_studio_rules() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let user = api.user("customer").await;
    let date = day_ahead(5);
    for (body, field) in [
        (json!({ "start": at(&date, 8), "minutes": 60 }), "start"),
        (json!({ "start": at(&date, 18), "minutes": 120 }), "start"),
        (
            json!({ "start": format!("{date}T10:30:00-03:00"), "minutes": 60 }),
            "start",
        ),
        (json!({ "start": at(&date, 10), "minutes": 45 }), "minutes"),
        (json!({ "start": at(&date, 10), "minutes": 600 }), "minutes"),
        (
            json!({ "start": "2020-01-01T10:00:00-03:00", "minutes": 60 }),
            "start",
        ),
        (
            json!({ "start": "tomorrow at ten", "minutes": 60 }),
            "start",
        ),
    ] {
        let refused = api.book(&user, body).expect(422).await;
        assert_eq!(refused["field"], field, "{refused}");
    }
    // Opening hours are settings: after the admin changes them, 08:00 opens.
    let admin = api.admin().await;
    api.expect(
        200,
        Method::PUT,
        "/api/admin/settings/studio.open_hour",
        Some(&admin.token),
        Some(json!({ "value": 8 })),
    )
    .await;
    api.book(&user, json!({ "start": at(&date, 8), "minutes": 60 }))
        .expect(201)
        .await;
    // The same instant written in another offset is the same slot.
    let utc = format!("{date}T11:00:00Z");
    let same = api
        .book(&admin, json!({ "start": utc, "minutes": 60 }))
        .expect(409)
        .await;
    assert_eq!(same["code"], "slot-taken");
    api.expect(
        400,
        Method::GET,
        "/api/studio/availability?date=someday",
        None,
        None,
    )
    .await;
    api.expect(
        400,
        Method::GET,
        "/api/studio/calendar?from=2030-01-01&to=2031-01-01",
        Some(&admin.token),
        None,
    )
    .await;
    stack.stop().await;
}

/// The desk: an admin books for a customer, moves a booking (never onto
/// another's slots), and after the start marks it completed or a no-show.
#[tokio::test]
async fn the_desk_books_for_customers_moves_and_closes_bookings() {
    let stack = spawn_stack().await;
    let api = &stack.api;
    let admin = api.admin().await;
    let ana = api.user("customer").await;
    let bea = api.user("customer").await;
    let date = day_ahead(5);

    // Booked for Ana by the desk: hers, her email, audited.
    let booked = api
        .book(
            &admin,
            json!({ "start": at(&date, 10), "minutes": 60, "user_id": ana.id }),
        )
        .expect(201)
        .await;
    assert_eq!(booked["user_id"], ana.id.as_str());
    let id = booked["id"].as_str().expect("id").to_owned();
    let mine = api
        .expect(
            200,
            Method::GET,
            "/api/studio/reservations",
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(mine[0]["id"], id.as_str());
    let emails = api
        .expect(
            200,
            Method::GET,
            &format!("/api/admin/email-logs?to={}", ana.email),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(emails.as_array().map(Vec::len), Some(1), "{emails}");
    let forbidden = api
        .book(
            &bea,
            json!({ "start": at(&date, 12), "minutes": 60, "user_id": ana.id }),
        )
        .expect(403)
        .await;
    assert_eq!(forbidden["code"], "forbidden");
    api.book(
        &admin,
        json!({ "start": at(&date, 12), "minutes": 60, "user_id": "000000000000000000000000" }),
    )
    .expect(404)
    .await;

    // Moved to 14:00: 10:00 is free again, and a move onto Bea's slot is refused.
    let path = |action: &str| format!("/api/studio/reservations/{id}/{action}");
    let moved = api
        .expect(
            200,
            Method::POST,
            &path("reschedule"),
            Some(&admin.token),
            Some(json!({ "start": at(&date, 14) })),
        )
        .await;
    assert_eq!(moved["start"], at(&date, 14));
    assert_eq!(moved["minutes"], 60);
    api.book(&bea, json!({ "start": at(&date, 10), "minutes": 120 }))
        .expect(201)
        .await;
    let taken = api
        .expect(
            409,
            Method::POST,
            &path("reschedule"),
            Some(&admin.token),
            Some(json!({ "start": at(&date, 11) })),
        )
        .await;
    assert_eq!(taken["code"], "slot-taken");
    api.expect(
        422,
        Method::POST,
        &path("reschedule"),
        Some(&admin.token),
        Some(json!({ "start": at(&date, 3) })),
    )
    .await;
    api.expect(
        403,
        Method::POST,
        &path("reschedule"),
        Some(&ana.token),
        Some(json!({ "start": at(&date, 16) })),
    )
    .await;
    let still = api
        .expect(
            200,
            Method::GET,
            "/api/studio/reservations",
            Some(&ana.token),
            None,
        )
        .await;
    assert_eq!(
        still[0]["start"],
        at(&date, 14),
        "a refused move changes nothing"
    );

    // Marked only once its time has come.
    let early = api
        .expect(
            409,
            Method::POST,
            &path("complete"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(early["code"], "not-started");
    let yesterday = mongodb::bson::DateTime::from_millis(
        mongodb::bson::DateTime::now().timestamp_millis() - 86_400_000,
    );
    let oid = mongodb::bson::oid::ObjectId::parse_str(&id).expect("oid");
    api.db
        .collection::<mongodb::bson::Document>("reservations")
        .update_one(
            mongodb::bson::doc! { "_id": oid },
            mongodb::bson::doc! { "$set": { "start": yesterday, "end": yesterday } },
        )
        .await
        .expect("back-dated");
    let done = api
        .expect(
            200,
            Method::POST,
            &path("complete"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(done["status"], "completed");
    let again = api
        .expect(
            409,
            Method::POST,
            &path("no-show"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(again["code"], "not-confirmed");
    let audit = api
        .expect(
            200,
            Method::GET,
            &format!("/api/admin/audit-logs?record_id={id}"),
            Some(&admin.token),
            None,
        )
        .await;
    let actions: Vec<&str> = audit
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        actions,
        [
            "reservation.complete",
            "reservation.reschedule",
            "reservation.book"
        ]
    );

    // Bea's booking, her time past, is a no-show.
    let hers = api
        .expect(
            200,
            Method::GET,
            "/api/studio/reservations",
            Some(&bea.token),
            None,
        )
        .await;
    let hers = hers[0]["id"].as_str().expect("id").to_owned();
    let oid = mongodb::bson::oid::ObjectId::parse_str(&hers).expect("oid");
    api.db
        .collection::<mongodb::bson::Document>("reservations")
        .update_one(
            mongodb::bson::doc! { "_id": oid },
            mongodb::bson::doc! { "$set": { "start": yesterday, "end": yesterday } },
        )
        .await
        .expect("back-dated");
    let missed = api
        .expect(
            200,
            Method::POST,
            &format!("/api/studio/reservations/{hers}/no-show"),
            Some(&admin.token),
            None,
        )
        .await;
    assert_eq!(missed["status"], "no_show");
    stack.stop().await;
}
