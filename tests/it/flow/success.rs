//! Successful requests: the token, its record, and what the contract lets vary.

use super::*;

#[tokio::test]
async fn success_issues_a_stored_token_in_the_contract_format() {
    let f = flow();
    let r = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await.response;
    assert_eq!(r.status(), 302);
    let location = header(&r, "location").unwrap();
    let token = location
        .strip_prefix(&format!("{REDIRECT}#access_token="))
        .and_then(|rest| rest.strip_suffix("&token_type=Bearer&expires_in=315576000"))
        .unwrap_or_else(|| panic!("unexpected Location {location}"));
    // base64url and the two dots before the names: untouched by fragments and forms.
    assert!(
        token.len() >= 43
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    );
    assert_eq!(header(&r, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(&r, "cache-control"), Some("no-store"));
    assert!(r.body().is_empty());

    let records = f.store().tokens();
    assert_eq!(records.len(), 1);
    let rec = &records[0];
    let parsed = AccessToken::parse(token).unwrap();
    assert_eq!(rec.token_id, parsed.id());
    assert!(parsed.secret_matches(&rec.secret_hash));
    assert_eq!(
        (rec.username.as_str(), rec.client_id.as_str()),
        ("username", CLIENT)
    );
    assert_eq!(
        parsed.named(),
        Some(&IssuedTo::new("username", CLIENT)),
        "the token names its record's user and application, for a check in one read"
    );
    assert_eq!(rec.scopes, ["repo:write", "org:admin"]);
    assert_eq!(rec.issued_at, NOW_MS / 1000);
    assert_eq!(rec.expires_at, Some(NOW_MS / 1000 + 315_576_000));
    assert!(
        !format!("{rec:?}").contains(secret_of(token)),
        "the secret is not stored"
    );
}

#[tokio::test]
async fn state_is_echoed_last_and_lifetime_is_configurable() {
    let f = flow_with(|s| s.token_lifetime = Duration::from_secs(3600));
    let r = f
        .handle(&post(
            Some(QUAY_AUTH),
            &format!("{GOOD_BODY}&state=xyz%26access_token%3Devil"),
        ))
        .await
        .response;
    let pairs = fragment(&r);
    let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["access_token", "token_type", "expires_in", "state"]);
    assert_eq!(pairs[2].1, "3600");
    assert_eq!(pairs[3].1, "xyz&access_token=evil");
}

#[tokio::test]
async fn redirect_uri_may_be_omitted_with_one_registered() {
    let f = flow();
    let r = f
        .handle(&post(
            Some(QUAY_AUTH),
            "client_id=some_client_id&scope=repo:read",
        ))
        .await
        .response;
    assert_eq!(r.status(), 302);
    assert!(
        header(&r, "location")
            .unwrap()
            .starts_with(&format!("{REDIRECT}#access_token="))
    );
}

#[tokio::test]
async fn loopback_redirect_may_change_port() {
    let f = flow();
    let body = "client_id=multi&redirect_uri=http://127.0.0.1:53111/cb&scope=repo:read";
    let r = f.handle(&post(Some(QUAY_AUTH), body)).await.response;
    assert_eq!(r.status(), 302);
    assert!(
        header(&r, "location")
            .unwrap()
            .starts_with("http://127.0.0.1:53111/cb#access_token=")
    );
}

#[tokio::test]
async fn bcrypt_hashes_from_quay_verify_and_are_upgraded() {
    let f = flow();
    f.store().put_user(User {
        password_hash: bcrypt::hash("s3cret", 4).unwrap(),
        ..user("quay-user")
    });
    let r = f
        .handle(&post(Some(&basic("quay-user", "s3cret")), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 302);
    let upgraded = f.store().user("quay-user").unwrap().password_hash;
    assert!(upgraded.starts_with("$argon2id$"), "{upgraded}");
}

#[tokio::test]
async fn a_bcrypt_password_over_72_bytes_is_not_rehashed() {
    // bcrypt read only the first 72 bytes; argon2id of this exact string would refuse
    // every other string that bcrypt accepts today.
    let long = format!("{}tail", "p".repeat(72));
    let hash = bcrypt::hash(&long, 4).unwrap();
    let f = flow();
    f.store().put_user(User {
        password_hash: hash.clone(),
        ..user("quay-user")
    });
    let r = f
        .handle(&post(Some(&basic("quay-user", &long)), GOOD_BODY))
        .await
        .response;
    assert_eq!(r.status(), 302);
    assert_eq!(f.store().user("quay-user").unwrap().password_hash, hash);
}

#[test]
fn the_default_catalogue_is_quays() {
    let config = Config::from_lookup(|_| None).unwrap();
    let expected: BTreeSet<String> = QUAY_SCOPES.split(' ').map(str::to_string).collect();
    assert_eq!(config.scopes, expected);
}

#[tokio::test]
async fn the_audit_line_names_who_got_which_token_for_what_and_never_its_secret() {
    let f = flow();
    let answer = f.handle(&post(Some(QUAY_AUTH), GOOD_BODY)).await;
    let token = fragment(&answer.response)
        .into_iter()
        .find(|(k, _)| k == "access_token")
        .unwrap()
        .1;
    let log = &answer.log;
    assert_eq!(
        (
            log.event,
            answer.response.status().as_u16(),
            log.client_id.as_str()
        ),
        (Event::TokenIssued, 302, CLIENT)
    );
    assert_eq!(
        (log.username.as_str(), log.scopes.as_str()),
        ("username", "repo:write org:admin")
    );
    assert_eq!(log.token_id, token_id(&token), "the public id");
    assert!(
        !format!("{log:?}").contains(secret_of(&token)),
        "not the secret"
    );
}
