use super::*;
use crate::random::OsRandom;
use crate::store::memory::{application, user};
use crate::store::{OwnerAndClient, TokenRecord, User};
use crate::token_check::decide;

fn json(answer: AuthorizerAnswer) -> serde_json::Value {
    serde_json::to_value(answer).unwrap()
}

fn record(token: &AccessToken) -> TokenRecord {
    TokenRecord {
        token_id: token.id().to_string(),
        secret_hash: token.secret_hash(),
        username: "alice".into(),
        client_id: "cli".into(),
        scopes: vec!["repo:read".into(), "org:admin".into()],
        issued_at: 100,
        expires_at: Some(1_000),
        revoked_at: None,
        user_generation: 3,
        client_epoch: 0,
        jkt: None,
        name: None,
        last_used_at: None,
    }
}

/// alice and her application, as they are when nothing has changed.
fn parties() -> OwnerAndClient {
    OwnerAndClient {
        user: Some(User {
            generation: 3,
            ..user("alice")
        }),
        application: Some(application("cli")),
    }
}

fn user_is(change: impl FnOnce(&mut User)) -> OwnerAndClient {
    let mut h = parties();
    change(h.user.as_mut().unwrap());
    h
}

#[test]
fn each_denial_logs_the_reason_the_operations_guide_names() {
    // docs/operations.md lists these words for searching the authorizer's log lines.
    for (denial, reason) in [
        (Denial::Malformed, "malformed"),
        (Denial::Unknown, "unknown_token"),
        (Denial::WrongSecret, "wrong_secret"),
        (Denial::Expired, "expired"),
        (Denial::Revoked, "revoked"),
        (Denial::UserDisabled, "user_disabled"),
        (Denial::ClientRemoved, "client_removed"),
        (Denial::DpopInvalid, "dpop_invalid"),
        (Denial::DpopReplayed, "dpop_replayed"),
        (Denial::DpopRequired, "dpop_required"),
        (Denial::DpopWrongKey, "dpop_wrong_key"),
        (Denial::NotBound, "not_dpop_bound"),
    ] {
        assert_eq!(denial.reason(), reason);
    }
}

#[test]
fn bearer_or_dpop_needs_the_scheme_and_one_of_our_tokens() {
    let t = AccessToken::generate(&OsRandom).unwrap().expose();
    assert!(!presented(Some(&format!("Bearer {t}"))).unwrap().dpop);
    assert!(!presented(Some(&format!("bearer  {t}"))).unwrap().dpop);
    assert!(presented(Some(&format!("DPoP {t}"))).unwrap().dpop);
    assert!(presented(Some(&format!("dpop {t}"))).unwrap().dpop);
    for bad in [
        None,
        Some(String::new()),
        Some(t.clone()),
        Some(format!("Basic {t}")),
        Some(format!("Bearer {t}x")),
        Some("Bearer".to_string()),
        Some(format!("Bearer {}", &t[1..])),
    ] {
        assert_eq!(
            presented(bad.as_deref()).unwrap_err(),
            Denial::Malformed,
            "{bad:?}"
        );
    }
}

#[test]
fn decides_every_outcome() {
    let t = AccessToken::generate(&OsRandom).unwrap();
    let good = record(&t);
    let h = &parties();
    assert_eq!(
        decide(&t, None, Some(&good), h, 999).unwrap().username,
        "alice"
    );
    assert_eq!(decide(&t, None, None, h, 0), Err(Denial::Unknown));
    let other = AccessToken::generate(&OsRandom).unwrap();
    let mut wrong = good.clone();
    wrong.secret_hash = other.secret_hash();
    assert_eq!(
        decide(&t, None, Some(&wrong), h, 0),
        Err(Denial::WrongSecret)
    );
    assert_eq!(
        decide(&t, None, Some(&good), h, 1_000),
        Err(Denial::Expired)
    );
    let mut revoked = good.clone();
    revoked.revoked_at = Some(500);
    assert_eq!(
        decide(&t, None, Some(&revoked), h, 600),
        Err(Denial::Revoked)
    );
}

#[test]
fn the_user_and_the_application_as_they_are_now_decide() {
    let t = AccessToken::generate(&OsRandom).unwrap();
    let good = record(&t);
    let disabled = user_is(|u| u.enabled = false);
    assert_eq!(
        decide(&t, None, Some(&good), &disabled, 600),
        Err(Denial::UserDisabled)
    );
    let mut gone = parties();
    gone.user = None;
    assert_eq!(
        decide(&t, None, Some(&good), &gone, 600).unwrap_err(),
        Denial::UserDisabled
    );
    // Written under generation 3: void once the user's tokens start at 4, not at 3.
    let voided = user_is(|u| (u.generation, u.tokens_from) = (4, 4));
    assert_eq!(
        decide(&t, None, Some(&good), &voided, 600),
        Err(Denial::Revoked)
    );
    let from_its_own = user_is(|u| u.tokens_from = 3);
    assert!(decide(&t, None, Some(&good), &from_its_own, 600).is_ok());
    // The application: removed, or its tokens revoked (a new epoch).
    let mut app = parties();
    app.application.as_mut().unwrap().token_epoch = 1;
    let refused = |h: &OwnerAndClient| decide(&t, None, Some(&good), h, 600).unwrap_err();
    assert_eq!(refused(&app), Denial::Revoked);
    app.application = None;
    assert_eq!(refused(&app), Denial::ClientRemoved);
}

#[test]
fn a_bound_token_needs_a_proof_by_its_key_and_only_a_bound_one_takes_a_proof() {
    let t = AccessToken::generate(&OsRandom).unwrap();
    let mut bound = record(&t);
    bound.jkt = Some("key-a".into());
    let h = &parties();
    assert!(decide(&t, Some("key-a"), Some(&bound), h, 600).is_ok());
    let refused = |key, r: &TokenRecord| decide(&t, key, Some(r), h, 600).unwrap_err();
    assert_eq!(refused(Some("key-b"), &bound), Denial::DpopWrongKey);
    assert_eq!(
        refused(None, &bound),
        Denial::DpopRequired,
        "presented as Bearer"
    );
    assert_eq!(refused(Some("key-a"), &record(&t)), Denial::NotBound);
    // A bound token's other checks still decide.
    bound.revoked_at = Some(1);
    assert_eq!(refused(Some("key-a"), &bound), Denial::Revoked);
}

#[test]
fn answers_in_the_shape_of_the_event() {
    let t = AccessToken::generate(&OsRandom).unwrap();
    let grant = decide(&t, None, Some(&record(&t)), &parties(), 0);
    let v2 = Check {
        shape: EventShape::HttpApi,
        authorization: None,
        resource: "arn:r".into(),
        request: None,
        proof: Ok(None),
    };
    let ok = json(respond(&v2, &grant).unwrap());
    assert_eq!(ok["isAuthorized"], true);
    assert_eq!(ok["context"]["scopes"], "repo:read org:admin");
    assert_eq!(
        json(respond(&v2, &Err(Denial::Malformed)).unwrap()),
        serde_json::json!({"isAuthorized": false})
    );

    let rest = Check {
        shape: EventShape::RestToken,
        authorization: None,
        resource: "arn:m".into(),
        request: None,
        proof: Ok(None),
    };
    let ok = json(respond(&rest, &grant).unwrap());
    assert_eq!(ok["principalId"], "alice");
    assert_eq!(ok["policyDocument"]["Statement"][0]["Effect"], "Allow");
    assert_eq!(ok["policyDocument"]["Statement"][0]["Resource"], "arn:m");
    assert_eq!(ok["context"]["client_id"], "cli");
    for denial in [
        Denial::Revoked,
        Denial::Expired,
        Denial::Unknown,
        Denial::Malformed,
    ] {
        assert_eq!(
            respond(&rest, &Err(denial)),
            Err(UNAUTHORIZED),
            "{denial:?}"
        );
    }
}
