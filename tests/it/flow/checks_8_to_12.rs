//! Checks 8-12: back-off, password, response type, scopes, the token write.

use super::*;

#[tokio::test]
async fn row_8_failed_logins_back_off_without_verifying() {
    let f = flow();
    let wrong = basic("username", "wrong");
    assert_refused(
        &f,
        &f.handle(&post(Some(&wrong), GOOD_BODY)).await.response,
        401,
        "access_denied",
    );
    assert_eq!(f.hasher().verifications(), 1);
    // Within 0.5 s even the right password is refused, and not verified.
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_refused(&f, &r, 429, "temporarily_unavailable");
    assert_eq!(header(&r, "retry-after"), Some("1"));
    assert_eq!(
        f.hasher().verifications(),
        1,
        "no verification while backing off"
    );
    assert_eq!(f.store().failed_logins("username").unwrap().failures, 1);
    f.clock().advance_ms(500);
    assert_eq!(
        f.handle(&post(Some(QUAY_AUTH), GOOD_BODY))
            .await
            .response
            .status(),
        302
    );
    assert_eq!(
        f.store().failed_logins("username").unwrap().failures,
        1,
        "a success leaves the count (it decays instead): a reset would show a probe the name was used"
    );
}

#[tokio::test]
async fn row_8_windows_grow_and_are_capped() {
    let f = flow_with(|s| s.backoff_cap = Duration::from_secs(4));
    let wrong = basic("nobody", "x");
    let mut retry_afters = Vec::new();
    for _ in 0..5 {
        let r = f.handle(&post(Some(&wrong), GOOD_BODY)).await.response;
        assert_eq!(r.status(), 401);
        let r = f.handle(&post(Some(&wrong), GOOD_BODY)).await.response;
        assert_eq!(r.status(), 429);
        let secs: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
        retry_afters.push(secs);
        f.clock().advance_ms(secs * 1000);
    }
    assert_eq!(retry_afters, [1, 2, 4, 4, 4]);
}

#[tokio::test]
async fn row_9_unknown_disabled_and_wrong_password_look_the_same() {
    let f = flow();
    let mut seen = Vec::new();
    for (user, password) in [
        ("username", "wrong"),
        ("no-such-user", "passwordhere"),
        ("gone", "passwordhere"),
    ] {
        let r = f
            .handle(&post(Some(&basic(user, password)), GOOD_BODY))
            .await
            .response;
        assert_refused(&f, &r, 401, "access_denied");
        let mut headers: Vec<(String, String)> = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string()))
            .collect();
        headers.sort();
        seen.push((headers, r.body().clone()));
        assert_eq!(
            f.store().failed_logins(user).unwrap().failures,
            1,
            "{user} counted"
        );
    }
    assert!(
        seen.windows(2).all(|w| w[0] == w[1]),
        "responses differ: {seen:?}"
    );
}

#[tokio::test]
async fn row_10_response_type_must_be_token_or_code() {
    let f = flow();
    for rt in ["id_token", "token%20code", "code%20token"] {
        let r = f
            .handle(&post(
                Some(QUAY_AUTH),
                &format!("{GOOD_BODY}&response_type={rt}&state=s1"),
            ))
            .await
            .response;
        assert_eq!(r.status(), 302);
        let pairs = fragment(&r);
        assert_eq!(
            pairs[0],
            ("error".into(), "unsupported_response_type".into())
        );
        assert_eq!(pairs.last().unwrap(), &("state".into(), "s1".into()));
        assert!(
            header(&r, "location")
                .unwrap()
                .starts_with(&format!("{REDIRECT}#error="))
        );
        assert!(f.store().tokens().is_empty());
    }
    let r = f
        .handle(&post(
            Some(QUAY_AUTH),
            &format!("{GOOD_BODY}&response_type=token"),
        ))
        .await
        .response;
    assert_eq!(r.status(), 302);
    assert_eq!(fragment(&r)[0].0, "access_token");
}

#[tokio::test]
async fn row_10_and_11_come_after_the_password() {
    let f = flow();
    let wrong = basic("username", "wrong");
    let body = format!("{GOOD_BODY}&response_type=code");
    assert_refused(
        &f,
        &f.handle(&post(Some(&wrong), &body)).await.response,
        401,
        "access_denied",
    );
    let body = "client_id=some_client_id&scope=repo:push";
    assert_refused(
        &f,
        &f.handle(&post(None, body)).await.response,
        401,
        "access_denied",
    );
}

#[tokio::test]
async fn row_11_scopes_are_checked() {
    let f = flow();
    let cases = [
        (
            "client_id=some_client_id&scope=repo:push,org:admin",
            QUAY_AUTH.to_string(),
            "invalid_scope",
        ),
        (
            "client_id=some_client_id",
            QUAY_AUTH.to_string(),
            "invalid_scope",
        ),
        (
            "client_id=some_client_id&scope=%22bad%22",
            QUAY_AUTH.to_string(),
            "invalid_scope",
        ),
        (
            "client_id=some_client_id&scope=super:user",
            QUAY_AUTH.to_string(),
            "access_denied",
        ),
        (
            "client_id=multi&redirect_uri=https://a.example/cb&scope=repo:write",
            QUAY_AUTH.to_string(),
            "invalid_scope",
        ),
    ];
    for (body, auth, error) in cases {
        let r = f.handle(&post(Some(&auth), body)).await.response;
        assert_eq!(r.status(), 302, "{body}");
        assert_eq!(
            fragment(&r)[0],
            ("error".to_string(), error.to_string()),
            "{body}"
        );
        assert!(f.store().tokens().is_empty());
    }
    let root = basic("root", "passwordhere");
    let r = f
        .handle(&post(
            Some(&root),
            "client_id=some_client_id&scope=super:user repo:read",
        ))
        .await
        .response;
    assert_eq!(fragment(&r)[0].0, "access_token");
}

#[tokio::test]
async fn row_12_store_outage_is_503_without_a_token() {
    let f = flow();
    f.store().set_unavailable(true);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_refused(&f, &r, 503, "temporarily_unavailable");
    assert_eq!(header(&r, "retry-after"), Some("2"));
}

#[tokio::test]
async fn row_12_a_token_write_failing_after_a_good_read_is_503_without_a_token() {
    let f = flow();
    let reads = f.store().lookup_counter();
    f.store().set_failing(Operation::PutToken, true);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_refused(&f, &r, 503, "temporarily_unavailable");
    assert_eq!(header(&r, "retry-after"), Some("2"));
    assert_eq!(reads.load(Ordering::SeqCst), 1, "the read succeeded");
    assert_eq!(f.hasher().verifications(), 1, "the password was checked");
    f.store().set_failing(Operation::PutToken, false);
    assert_eq!(
        f.handle(&post(Some(QUAY_AUTH), GOOD_BODY))
            .await
            .response
            .status(),
        302,
        "the next request, with the store back, succeeds"
    );
    assert_eq!(f.store().tokens().len(), 1);
}

#[tokio::test]
async fn row_9_a_failure_count_that_cannot_be_written_is_503_not_401() {
    // Answering 401 without the count would let guesses through the back-off whenever
    // the counter write fails (throttling, say).
    let f = flow();
    f.store().set_failing(Operation::RecordFailure, true);
    let r = f
        .handle(&post(Some(&basic("username", "wrong")), GOOD_BODY))
        .await
        .response;
    assert_refused(&f, &r, 503, "temporarily_unavailable");
    assert_eq!(f.hasher().verifications(), 1);
    assert!(f.store().failed_logins("username").is_none());
}

#[tokio::test]
async fn revocation_with_the_store_failing_is_503() {
    let f = flow();
    let issued = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    let token = fragment(&issued)
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .unwrap()
        .1;
    f.store().set_failing(Operation::RevokeToken, true);
    let body = format!("token={token}");
    let mut req = post(None, &body);
    *req.uri_mut() = "/oauth/revoke".parse().unwrap();
    let r = f.handle(&req).await.response;
    assert_eq!(r.status(), 503);
    assert_eq!(json(&r)["error"], "temporarily_unavailable");
    assert!(f.store().tokens()[0].revoked_at.is_none());
}

#[tokio::test]
async fn row_12_an_id_collision_is_retried_once_then_500() {
    let f = flow();
    f.store().inject_conflicts(1);
    assert_eq!(
        f.handle(&post(Some(QUAY_AUTH), GOOD_BODY))
            .await
            .response
            .status(),
        302
    );
    assert_eq!(f.store().tokens().len(), 1);
    let f = flow();
    f.store().inject_conflicts(2);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_refused(&f, &r, 500, "server_error");
}
