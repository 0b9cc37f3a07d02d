use super::*;
use crate::random::OsRandom;

const NOW: u64 = 1_000_000;

fn terms(grace: u64) -> RefreshTerms {
    RefreshTerms {
        idle: Duration::from_secs(600),
        absolute: Duration::from_secs(3_600),
        grace: Duration::from_secs(grace),
    }
}

fn grant() -> FamilyGrant {
    FamilyGrant {
        username: "quinn".into(),
        client_id: "cli".into(),
        scopes: vec!["repo:read".into()],
        user_generation: 1,
        client_epoch: 2,
        jkt: None,
    }
}

fn issued(id: &str, at: u64) -> Issued<'_> {
    Issued {
        token_id: id,
        expires_at: Some(at),
    }
}

/// `f` after a refresh presenting a token judged `from` at `at`, `next` its live token,
/// under terms of `grace` seconds, issuing the access token `(id, expiry)`.
fn rotate(
    f: &RefreshFamily,
    from: Presented,
    next: &RefreshToken,
    grace: u64,
    (id, expires_at): (&str, u64),
    at: u64,
) -> RefreshFamily {
    rotated(f, from, next, &terms(grace), 1, issued(id, expires_at), at)
}

fn family(first: &RefreshToken, grace: u64) -> RefreshFamily {
    started(first, grant(), &terms(grace), issued("t1", NOW + 60), NOW)
}

#[test]
fn a_refresh_token_round_trips_and_is_never_an_access_token() {
    let t = RefreshToken::start(&OsRandom).unwrap();
    let shown = t.expose();
    assert!(shown.starts_with(PREFIX));
    assert_eq!(RefreshToken::parse(&shown), Some(t.clone()));
    assert!(crate::token::AccessToken::parse(&shown).is_none());
    assert!(RefreshToken::parse(&shown.replacen(PREFIX, "doa_", 1)).is_none());
    assert!(!format!("{t:?}").contains(&shown[PREFIX.len()..]));
    let next = t.next(&OsRandom).unwrap();
    assert_eq!(next.family_id(), t.family_id());
    assert_ne!(next.secret_hash(), t.secret_hash());
}

#[test]
fn the_live_token_rotates_and_the_retired_one_is_a_reuse_after_the_grace() {
    let first = RefreshToken::start(&OsRandom).unwrap();
    let f = family(&first, 10);
    assert_eq!(judge(&first, Some(&f), "cli", NOW), Ok(Presented::Current));
    let second = first.next(&OsRandom).unwrap();
    let f2 = rotate(&f, Presented::Current, &second, 10, ("t2", NOW + 70), NOW);
    assert_eq!(
        judge(&second, Some(&f2), "cli", NOW + 1),
        Ok(Presented::Current)
    );
    assert_eq!(
        judge(&first, Some(&f2), "cli", NOW + 9),
        Ok(Presented::Retried)
    );
    assert_eq!(
        judge(&first, Some(&f2), "cli", NOW + 10),
        Err(Refusal::Reused)
    );
    // A retry leaves the retired token and its window as they were.
    let third = first.next(&OsRandom).unwrap();
    let f3 = rotate(
        &f2,
        Presented::Retried,
        &third,
        10,
        ("t3", NOW + 75),
        NOW + 5,
    );
    assert_eq!(
        (f3.previous_hash, f3.grace_until),
        (f2.previous_hash, f2.grace_until)
    );
    // The token the lost answer carried is retired unused: presenting it is a reuse.
    assert_eq!(
        judge(&second, Some(&f3), "cli", NOW + 6),
        Err(Refusal::Reused)
    );
    assert_eq!(f3.access_tokens.len(), 3);
}

#[test]
fn without_grace_a_retired_token_is_a_reuse_at_once() {
    let first = RefreshToken::start(&OsRandom).unwrap();
    let f = family(&first, 0);
    let second = first.next(&OsRandom).unwrap();
    let f2 = rotate(&f, Presented::Current, &second, 0, ("t2", NOW + 70), NOW);
    assert_eq!(judge(&first, Some(&f2), "cli", NOW), Err(Refusal::Reused));
}

#[test]
fn a_secret_the_family_never_had_is_a_reuse_and_another_clients_is_unknown() {
    let first = RefreshToken::start(&OsRandom).unwrap();
    let f = family(&first, 10);
    let forged = RefreshToken {
        family_id: first.family_id.clone(),
        secret: "x".repeat(43),
    };
    assert_eq!(judge(&forged, Some(&f), "cli", NOW), Err(Refusal::Reused));
    assert_eq!(judge(&first, Some(&f), "other", NOW), Err(Refusal::Unknown));
    assert_eq!(judge(&first, None, "cli", NOW), Err(Refusal::Unknown));
}

#[test]
fn a_family_ends_by_its_idle_and_its_absolute_lifetime_and_by_revocation() {
    let first = RefreshToken::start(&OsRandom).unwrap();
    let f = family(&first, 0);
    assert_eq!(
        judge(&first, Some(&f), "cli", NOW + 599),
        Ok(Presented::Current)
    );
    assert_eq!(
        judge(&first, Some(&f), "cli", NOW + 600),
        Err(Refusal::Expired)
    );
    // Used every 500 s, it still ends at the absolute lifetime.
    let mut at = NOW;
    let (mut token, mut fam) = (first, f);
    while at + 500 < NOW + 3_600 {
        at += 500;
        assert_eq!(judge(&token, Some(&fam), "cli", at), Ok(Presented::Current));
        let next = token.next(&OsRandom).unwrap();
        fam = rotate(&fam, Presented::Current, &next, 0, ("t", at + 60), at);
        token = next;
    }
    assert_eq!(fam.idle_until, fam.expires_at);
    assert_eq!(
        judge(&token, Some(&fam), "cli", NOW + 3_600),
        Err(Refusal::Expired)
    );
    let revoked = RefreshFamily {
        revoked_at: Some(NOW),
        ..family(&token, 0)
    };
    assert_eq!(
        judge(&token, Some(&revoked), "cli", NOW),
        Err(Refusal::Revoked)
    );
}

#[test]
fn expired_access_tokens_are_dropped_from_the_family() {
    let first = RefreshToken::start(&OsRandom).unwrap();
    let f = family(&first, 0);
    let next = first.next(&OsRandom).unwrap();
    let later = rotate(
        &f,
        Presented::Current,
        &next,
        0,
        ("t2", NOW + 200),
        NOW + 100,
    );
    assert_eq!(later.access_tokens.keys().collect::<Vec<_>>(), ["t2"]);
}

#[test]
fn terms_are_checked() {
    assert!(RefreshTerms::default().check().is_ok());
    assert!(terms(61).check().is_err());
    let idle_longer = RefreshTerms {
        idle: Duration::from_secs(7_200),
        ..terms(0)
    };
    assert!(idle_longer.check().is_err());
    let zero = RefreshTerms {
        idle: Duration::ZERO,
        ..terms(0)
    };
    assert!(zero.check().is_err());
}

#[test]
fn the_live_and_the_last_retired_token_are_held_and_no_other() {
    let first = RefreshToken::start(&OsRandom).unwrap();
    let f = family(&first, 0);
    assert!(held(&first, &f));
    let second = first.next(&OsRandom).unwrap();
    assert!(!held(&second, &f), "not issued yet");
    let f2 = rotate(&f, Presented::Current, &second, 0, ("t2", NOW + 70), NOW);
    assert!(held(&second, &f2) && held(&first, &f2), "past any grace");
    let third = second.next(&OsRandom).unwrap();
    let f3 = rotate(
        &f2,
        Presented::Current,
        &third,
        0,
        ("t3", NOW + 80),
        NOW + 10,
    );
    assert!(!held(&first, &f3), "retired two rotations ago");
    let forged = RefreshToken {
        family_id: first.family_id.clone(),
        secret: "x".repeat(43),
    };
    assert!(!held(&forged, &f3));
}
