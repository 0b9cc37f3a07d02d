//! Checks 1-7: method, body, client id, whitelist, application, redirect URI, credentials.

use super::*;

#[tokio::test]
async fn row_1_method_must_be_post() {
    let f = flow();
    for m in ["GET", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"] {
        let req = Request::builder().method(m).body(Vec::new()).unwrap();
        let r = f.handle(&req).await.response;
        assert_refused(&f, &r, 405, "invalid_request");
        assert_eq!(header(&r, "allow"), Some("POST"));
    }
}

#[tokio::test]
async fn row_2_body_must_be_a_small_well_formed_form() {
    let f = flow();
    let mut json_req = post(Some(QUAY_AUTH), r#"{"client_id":"some_client_id"}"#);
    json_req
        .headers_mut()
        .insert("content-type", "application/json".parse().unwrap());
    assert_refused(
        &f,
        &f.handle(&json_req).await.response,
        415,
        "invalid_request",
    );

    let mut text = post(Some(QUAY_AUTH), GOOD_BODY);
    text.headers_mut()
        .insert("content-type", "text/plain".parse().unwrap());
    assert_refused(&f, &f.handle(&text).await.response, 415, "invalid_request");

    let big = format!("{GOOD_BODY}&pad={}", "x".repeat(16 * 1024));
    assert_refused(
        &f,
        &f.handle(&post(Some(QUAY_AUTH), &big)).await.response,
        413,
        "invalid_request",
    );

    for body in [
        &format!("{GOOD_BODY}&client_id=other")[..],
        &format!("{GOOD_BODY}&scope=super:user")[..],
        &format!("{GOOD_BODY}&redirect_uri=https://evil.example/")[..],
        "client_id=some%zzclient",
        "client_id=%FF",
    ] {
        assert_refused(
            &f,
            &f.handle(&post(Some(QUAY_AUTH), body)).await.response,
            400,
            "invalid_request",
        );
    }
}

#[tokio::test]
async fn row_3_client_id_is_required() {
    let f = flow();
    for body in ["", "scope=repo:read", "client_id=&scope=repo:read"] {
        let r = f.handle(&post(Some(QUAY_AUTH), body)).await.response;
        assert_refused(&f, &r, 400, "invalid_request");
        assert_eq!(json(&r)["error_description"], "client_id is required");
    }
}

#[tokio::test]
async fn row_4_client_must_be_whitelisted_before_credentials_matter() {
    let f = flow();
    let body = "client_id=not_listed&redirect_uri=https://my/internal/application/token_created&scope=repo:read";
    for auth in [Some(QUAY_AUTH), None, Some("Basic !!")] {
        assert_refused(
            &f,
            &f.handle(&post(auth, body)).await.response,
            403,
            "unauthorized_client",
        );
    }
}

#[tokio::test]
async fn row_4_whitelist_outage_with_nothing_cached_is_503() {
    let f = flow();
    f.source().set(None);
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_refused(&f, &r, 503, "temporarily_unavailable");
    assert!(header(&r, "retry-after").is_some());
}

#[tokio::test]
async fn row_4_refusal_from_the_cached_list_reads_nothing() {
    let f = flow();
    let reads = f.store().lookup_counter();
    f.whitelist().current(NOW_MS).await.unwrap();
    let before = reads.load(Ordering::Relaxed);
    let body = "client_id=not_listed&redirect_uri=https://my/internal/application/token_created&scope=repo:read";
    let r = f.handle(&post(Some(QUAY_AUTH), body)).await.response;
    assert_refused(&f, &r, 403, "unauthorized_client");
    assert_eq!(
        reads.load(Ordering::Relaxed),
        before,
        "no DynamoDB read for a refusal"
    );
}

#[tokio::test]
async fn row_4_comes_before_a_store_outage_on_a_cold_list() {
    let f = flow();
    f.store().set_unavailable(true);
    let body = "client_id=not_listed&redirect_uri=https://my/internal/application/token_created&scope=repo:read";
    let r = f.handle(&post(Some(QUAY_AUTH), body)).await.response;
    assert_refused(&f, &r, 403, "unauthorized_client");
}

/// A whitelist source that answers only once the store has been read, and fails if it is
/// never read: the flow passes only when it asks both at the same time.
#[derive(Clone)]
struct AnswersAfterTheStoreRead(Arc<AtomicU32>);

impl WhitelistSource for AnswersAfterTheStoreRead {
    async fn fetch(&self) -> Result<String, SourceError> {
        for _ in 0..100 {
            if self.0.load(Ordering::Relaxed) > 0 {
                return Ok("some_client_id".into());
            }
            tokio::task::yield_now().await;
        }
        Err(SourceError::Unavailable(
            "the store was not read while SSM was asked".into(),
        ))
    }
}

#[tokio::test]
async fn a_due_whitelist_is_fetched_while_the_store_is_read() {
    let f = service(
        |_| {},
        |store| AnswersAfterTheStoreRead(store.lookup_counter()),
    );
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(r.status(), 302, "{:?}", json(&r));
    assert_eq!(
        f.store().lookup_counter().load(Ordering::Relaxed),
        1,
        "one read, not two"
    );
}

#[tokio::test]
async fn row_5_application_must_be_registered() {
    let f = flow();
    let r = f
        .handle(&post(
            Some(QUAY_AUTH),
            "client_id=unregistered&scope=repo:read",
        ))
        .await
        .response;
    assert_refused(&f, &r, 400, "invalid_request");
    assert_eq!(json(&r)["error_description"], "unknown client");
}

#[tokio::test]
async fn row_6_redirect_uri_must_match_exactly_and_never_redirects() {
    let f = flow();
    for uri in [
        "https://my/internal/application/token_created/",
        "https://my/internal/application/token_created?x=1",
        "https://my/internal/application/token_created%23frag",
        "https://MY/internal/application/token_created",
        "https://my/internal/application/token_createdx",
        "https://my/internal/application/",
        "https://my.evil.example/internal/application/token_created",
        "javascript:alert(1)",
    ] {
        let body = format!("client_id=some_client_id&redirect_uri={uri}&scope=repo:read");
        // Even without credentials: the URI is judged before them and never redirected to.
        for auth in [Some(QUAY_AUTH), None] {
            assert_refused(
                &f,
                &f.handle(&post(auth, &body)).await.response,
                400,
                "invalid_request",
            );
        }
    }
    let r = f
        .handle(&post(Some(QUAY_AUTH), "client_id=multi&scope=repo:read"))
        .await
        .response;
    assert_refused(&f, &r, 400, "invalid_request");
}

#[tokio::test]
async fn row_7_credentials_are_required_and_well_formed() {
    let f = flow();
    let no_colon = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("usernamepasswordhere")
    );
    for auth in [
        None,
        Some("Bearer abc"),
        Some("Basic %%%"),
        Some(no_colon.as_str()),
        Some("Basic Og=="),
    ] {
        let r = f.handle(&post(auth, GOOD_BODY)).await.response;
        assert_refused(&f, &r, 401, "access_denied");
        assert_eq!(
            header(&r, "www-authenticate"),
            Some("Basic realm=\"direct-oauth\", charset=\"UTF-8\"")
        );
    }
    // Malformed credentials are not a login attempt: nothing is counted.
    assert!(f.store().failed_logins("username").is_none());
}

/// Records the budget each fetch was given.
/// Clones share the budgets seen.
#[derive(Default, Clone)]
struct Budgeted(Arc<std::sync::Mutex<Vec<Duration>>>);

impl WhitelistSource for Budgeted {
    async fn fetch(&self) -> Result<String, SourceError> {
        Ok(CLIENT.into())
    }
    async fn fetch_within(&self, budget: Duration) -> Result<String, SourceError> {
        self.0.lock().unwrap().push(budget);
        Ok(CLIENT.into())
    }
}

#[tokio::test]
async fn row_4_a_due_whitelist_is_fetched_within_the_invocation_deadline() {
    use direct_oauth::endpoints::Deadline;
    let f = service(|_| {}, |_| Budgeted::default());
    let mut req = post(Some(QUAY_AUTH), GOOD_BODY);
    // 9 s left: the fetch may retry for 5 s, leaving 4 s to read, write and answer.
    req.extensions_mut().insert(Deadline(NOW_MS + 9_000));
    assert_eq!(f.handle(&req).await.response.status(), 302);
    f.clock().advance_ms(61_000);
    let mut late = post(Some(QUAY_AUTH), GOOD_BODY);
    late.extensions_mut()
        .insert(Deadline(NOW_MS + 61_000 + 1_000));
    let r = f.handle(&late).await.response;
    assert_ne!(r.status(), 503);
    let budgets = f.source().0.lock().unwrap().clone();
    assert_eq!(
        budgets,
        [Duration::from_millis(5_000), Duration::from_millis(200)],
        "what the deadline leaves, and one quick attempt when it leaves nothing"
    );
}

#[tokio::test]
async fn row_4_a_deadline_already_past_is_no_deadline() {
    // `cargo lambda watch` sends a deadline near the epoch; Lambda's is always ahead.
    use direct_oauth::endpoints::Deadline;
    let f = service(|_| {}, |_| Budgeted::default());
    let mut req = post(Some(QUAY_AUTH), GOOD_BODY);
    req.extensions_mut().insert(Deadline(1_000));
    assert_eq!(f.handle(&req).await.response.status(), 302);
    let budgets = f.source().0.lock().unwrap().clone();
    assert_eq!(budgets, [direct_oauth::whitelist::DEFAULT_FETCH_BUDGET]);
}
