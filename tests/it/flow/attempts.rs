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
    assert_eq!(stored[0].token_id, token_id(&handed_out));
}

/// Another instance verifying a password for "username" right now, until `until_ms`.
async fn held_elsewhere(f: &TestFlow, until_ms: u64) -> direct_oauth::store::Lease {
    use direct_oauth::store::{FailureCounter, Lease};
    let theirs = Lease {
        id: "another instance".into(),
        until_ms,
    };
    f.store()
        .admit("username", &theirs, NOW_MS, 0)
        .await
        .unwrap();
    theirs
}

#[tokio::test]
async fn row_8_a_right_login_waits_its_turn_within_the_request() {
    // Twenty CI jobs logging in as one service account at once: each waits for the one
    // being verified instead of being refused (the other's lease ends at +1 s here).
    let f = flow();
    held_elsewhere(&f, NOW_MS + 1_000).await;
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(r.status(), 302, "served after its turn, not refused");
    let waited = f.clock().now_ms() - NOW_MS;
    assert!(
        (1_000..1_000 + 600).contains(&waited),
        "waited for the lease's end, in pauses of at most 0.6 s: {waited} ms"
    );
    assert_eq!(f.hasher().verifications(), 1, "one verification, its own");
    assert_eq!(
        f.store().lease("username"),
        None,
        "given up after the success"
    );
}

#[tokio::test]
async fn row_8_a_turn_is_not_waited_for_past_the_request_s_budget() {
    use direct_oauth::store::FailureCounter;
    let f = flow();
    // A lease from an instance that died: it holds the name for longer than the request
    // may wait (3 s without an invocation deadline).
    let theirs = held_elsewhere(&f, NOW_MS + 60_000).await;
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_refused(&f, &r, 429, "temporarily_unavailable");
    assert_eq!(header(&r, "retry-after"), Some("1"));
    let waited = f.clock().now_ms() - NOW_MS;
    assert!(waited <= 3_000, "within the budget: {waited} ms");
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
    f.store().release("username", &theirs).await.unwrap();
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(r.status(), 302);
}

#[tokio::test]
async fn row_8_a_back_off_window_is_answered_at_once_not_waited_for() {
    // What keeps a burst of wrong passwords to one verification per window: only another
    // attempt's lease is waited for, never a window.
    let f = flow();
    let wrong = basic("username", "wrong");
    assert_eq!(
        f.handle(&post(Some(&wrong), GOOD_BODY))
            .await
            .response
            .status(),
        401
    );
    let before = f.clock().now_ms();
    for _ in 0..19 {
        let r = f.handle(&post(Some(&wrong), GOOD_BODY)).await.response;
        assert_eq!(r.status(), 429);
    }
    assert_eq!(f.clock().now_ms(), before, "no wait");
    assert_eq!(f.hasher().verifications(), 1);
}

#[tokio::test]
async fn row_8_the_lease_runs_from_the_admission_not_the_request_s_start() {
    use crate::faults::Operation;
    // SSM takes 10 s to answer; the lease asked for after it must still last 5 s.
    let clock = Arc::new(std::sync::OnceLock::new());
    let f = service(|_| {}, |_| SlowSsm(clock.clone()));
    clock.set(f.clock().clone()).unwrap();
    f.store().set_failing(Operation::Release, true);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(r.status(), 302);
    let held = f.store().lease("username").expect("the release failed");
    assert_eq!(
        held.until_ms,
        NOW_MS + 10_000 + 5_000,
        "5 s from the admission"
    );
}

/// An SSM that answers after 10 s on the flow's clock.
#[derive(Clone)]
struct SlowSsm(Arc<std::sync::OnceLock<ManualClock>>);

impl WhitelistSource for SlowSsm {
    async fn fetch(&self) -> Result<String, SourceError> {
        if let Some(clock) = self.0.get() {
            clock.advance_ms(10_000);
        }
        Ok(CLIENT.into())
    }
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
async fn row_10_a_confirmed_password_names_the_user_and_keeps_the_count() {
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
    assert_eq!(
        f.store().failed_logins("username").unwrap().failures,
        1,
        "the count stays: it decays alike for every name instead"
    );
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
        password_hash: bcrypt::hash("s3cret", 4).unwrap(),
        ..user("quay-user")
    });
    f.store().inject_lost_answers(1);
    let r = f
        .handle(&post(Some(&basic("quay-user", "s3cret")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 302);
    assert_eq!(f.store().tokens().len(), 1);
}

#[tokio::test]
async fn row_9_a_failure_is_counted_before_the_floor_and_the_floor_is_capped() {
    // An imported hash at a cost whose floor (25 ms a step here: 10 s) would outlast the
    // 5 s lease: the failure is written first, and the wait stops at 2 s.
    let f = flow();
    f.store().set_bcrypt_cost(Some(400));
    let r = f
        .handle(&post(Some(&basic("no-such-user", "x")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 401);
    assert_eq!(f.clock().now_ms() - NOW_MS, 2_000, "held to the 2 s cap");
    let counted = f.store().failed_logins("no-such-user").unwrap();
    assert_eq!(
        counted.last_failure_ms, NOW_MS,
        "counted before the wait, not after it"
    );
}

#[tokio::test]
async fn row_8_a_success_leaves_nothing_a_probe_could_see() {
    // Two names probed alike; one logs in rightly meanwhile. Probed alike again, both
    // answer the same: the success did not reset its count (contract check 8).
    let f = flow();
    let probe = |name: &'static str| {
        let f = &f;
        async move {
            let r = f
                .handle(&post(Some(&basic(name, "guess")), GOOD_BODY))
                .await
                .response;
            (
                r.status().as_u16(),
                header(&r, "retry-after").map(str::to_string),
            )
        }
    };
    for _ in 0..3 {
        assert_eq!(probe("username").await, probe("root").await);
        f.clock().advance_ms(10_000);
    }
    assert_eq!(
        f.handle(&post(Some(QUAY_AUTH), GOOD_BODY))
            .await
            .response
            .status(),
        302,
        "the account's owner logs in"
    );
    for round in 0..3 {
        let (used, unused) = (probe("username").await, probe("root").await);
        assert_eq!(used, unused, "round {round}");
        f.clock().advance_ms(if round == 0 { 0 } else { 10_000 });
    }
}

#[tokio::test]
async fn row_8_counts_decay_with_quiet_time_for_every_name() {
    let f = flow();
    for _ in 0..3 {
        let r = f
            .handle(&post(Some(&basic("nobody", "x")), GOOD_BODY))
            .await
            .response;
        assert_eq!(r.status(), 401);
        f.clock().advance_ms(10_000);
    }
    // Two quiet periods (15 min each) forgive two of the three failures: the next failure
    // leaves a count of 2, its window 1.5 s.
    f.clock().advance_ms(2 * 15 * 60 * 1000);
    let r = f
        .handle(&post(Some(&basic("nobody", "x")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 401);
    assert_eq!(f.store().failed_logins("nobody").unwrap().failures, 2);
    let r = f
        .handle(&post(Some(&basic("nobody", "x")), GOOD_BODY))
        .await
        .response;
    assert_eq!(header(&r, "retry-after"), Some("2"));
}
