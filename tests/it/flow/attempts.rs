//! Login attempts under concurrency: one verification per name at a time, what ends an
//! attempt, and what a confirmed password or a lost answer does.

use super::*;

#[tokio::test]
async fn row_12_a_write_whose_answer_was_lost_hands_out_the_stored_token() {
    // The SDK retried a write whose answer was lost and met its own token: that is the
    // write succeeding, not an id collision (which wrote a second, orphan record).
    let f = flow();
    f.store().inject_lost_answers(1);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(r.status(), 302);
    let handed_out = fragment(&r)
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .unwrap()
        .1;
    let stored = f.store().tokens();
    assert_eq!(stored.len(), 1, "one record, no orphan");
    assert_eq!(stored[0].token_id, handed_out[..22]);
}

#[tokio::test]
async fn row_8_an_attempt_in_flight_holds_the_name() {
    use direct_oauth::store::{FailureCounter, Lease};
    let f = flow();
    // Another instance is verifying a password for "username" right now.
    let theirs = Lease {
        id: "another instance".into(),
        until_ms: NOW_MS + 5_000,
    };
    f.store()
        .admit("username", &theirs, NOW_MS, 0)
        .await
        .unwrap();
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_refused(&f, &r, 429, "temporarily_unavailable");
    assert_eq!(header(&r, "retry-after"), Some("1"));
    assert_eq!(
        f.hasher().verifications(),
        0,
        "refused without a verification"
    );
    assert_eq!(
        f.store().lease("username"),
        Some(theirs.clone()),
        "theirs, untouched"
    );
    f.store().release("username", &theirs, false).await.unwrap();
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(r.status(), 302);
    assert_eq!(
        f.store().lease("username"),
        None,
        "given up after the success"
    );
}

#[tokio::test]
async fn row_8_an_attempt_holds_the_name_for_the_lease_and_its_count_is_kept_a_day() {
    use crate::faults::Operation;
    let f = flow();
    // The release fails, so the lease the attempt took stays for the test to see.
    f.store().set_failing(Operation::Release, true);
    let r = f
        .handle(&post(Some(&basic("username", "wrong")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 401);
    assert_eq!(
        f.store().lease("username").map(|l| l.until_ms),
        None,
        "a failure's count write ends the lease"
    );
    f.clock().advance_ms(60_000);
    let now_ms = NOW_MS + 60_000;
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(r.status(), 302);
    let held = f.store().lease("username").expect("the release failed");
    assert_eq!(held.until_ms, now_ms + 5_000, "held 5 s from the attempt");
    // A day, or the back-off cap if longer, from the latest attempt: a slow guesser's
    // count is not forgotten between guesses.
    assert_eq!(
        f.store().counter_expiry("username"),
        Some(now_ms / 1000 + 24 * 3600)
    );
}

#[tokio::test]
async fn every_ending_of_an_attempt_gives_the_name_up() {
    let f = flow();
    let unknown_client = "client_id=unregistered&redirect_uri=https://x.example/cb";
    for (body, auth, status) in [
        (unknown_client, QUAY_AUTH.to_string(), 400),
        (GOOD_BODY, basic("username", "wrong"), 401),
    ] {
        let r = f.handle(&post(Some(&auth), body)).await.response;
        assert_eq!(r.status(), status);
        assert_eq!(f.store().lease("username"), None, "{status}");
        f.clock().advance_ms(1_000);
    }
}

#[tokio::test]
async fn row_10_a_confirmed_password_forgets_the_failures_and_names_the_user() {
    let f = flow();
    let wrong = basic("username", "wrong");
    assert_eq!(
        f.handle(&post(Some(&wrong), GOOD_BODY))
            .await
            .response
            .status(),
        401
    );
    f.clock().advance_ms(500);
    let answer = f
        .handle(&post(
            Some(QUAY_AUTH),
            &format!("{GOOD_BODY}&response_type=code"),
        ))
        .await;
    assert_eq!(answer.response.status(), 302);
    assert_eq!(answer.log.event, Event::RedirectError);
    assert_eq!(answer.log.username, "username", "the password was right");
    assert!(f.store().failed_logins("username").is_none(), "count reset");
    assert!(f.store().tokens().is_empty());
}

#[tokio::test]
async fn row_9_while_bcrypt_hashes_remain_failures_wait_for_the_slowest() {
    let f = flow();
    let waited = |body: &str, auth: String| {
        let f = &f;
        let req = post(Some(&auth), body);
        async move {
            let before = f.clock().now_ms();
            let status = f.handle(&req).await.response.status();
            (status.as_u16(), f.clock().now_ms() - before)
        }
    };
    // No imported hashes: nobody waits.
    assert_eq!(
        waited(GOOD_BODY, basic("username", "wrong")).await,
        (401, 0)
    );
    f.store().set_bcrypt_cost(Some(12));
    f.clock().advance_ms(60_000);
    for user in ["username", "no-such-user", "gone"] {
        let got = waited(GOOD_BODY, basic(user, "passwordhere")).await;
        assert_eq!(got.0, if user == "username" { 302 } else { 401 }, "{user}");
        if user != "username" {
            assert_eq!(got.1, 300, "{user}: held to the cost-12 floor");
        } else {
            assert_eq!(got.1, 0, "a success does not wait");
        }
    }
    // The floor counts from the request's start: a verification that took 120 ms of it
    // leaves 180 ms to wait, not 300.
    f.hasher().take_ms_per_verification(120);
    f.clock().advance_ms(60_000);
    assert_eq!(
        waited(GOOD_BODY, basic("no-such-user", "x")).await,
        (401, 300)
    );
}

#[tokio::test]
async fn row_12_a_lost_answer_to_a_rehashing_write_hands_out_the_stored_token() {
    // A user imported from Quay: the write also replaces the hash, so the SDK's retry of a
    // write whose answer was lost meets the new hash (the user "changed") and its token.
    let f = flow();
    f.store().put_user(User {
        username: "quay-user".into(),
        password_hash: bcrypt::hash("s3cret", 4).unwrap(),
        enabled: true,
        superuser: false,
        generation: 0,
    });
    f.store().inject_lost_answers(1);
    let r = f
        .handle(&post(Some(&basic("quay-user", "s3cret")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 302);
    assert_eq!(f.store().tokens().len(), 1);
}
