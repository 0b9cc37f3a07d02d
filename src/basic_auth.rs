//! `Authorization: Basic` credentials (RFC 7617).

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Longest header value considered; real credentials are far shorter, and the cap bounds
/// the work an attacker can make us do.
pub const MAX_HEADER_BYTES: usize = 4096;

pub use crate::identifier::MAX_USERNAME_BYTES;

/// Standard alphabet; padding optional, since some clients drop it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A username and password. `Debug` is written by hand so the password never reaches a log.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// Parses the values of every `Authorization` header the request carried. Anything but
/// exactly one well-formed Basic credential is `None`: the caller answers 401.
pub fn parse<'a>(values: impl IntoIterator<Item = &'a [u8]>) -> Option<Credentials> {
    let mut values = values.into_iter();
    let value = values.next()?;
    if values.next().is_some() || value.len() > MAX_HEADER_BYTES {
        return None;
    }
    let value = std::str::from_utf8(value)
        .ok()?
        .trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let encoded = encoded.trim_start_matches(' ');
    let decoded = BASE64.decode(encoded).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    // RFC 7617 §2: neither part may contain control characters.
    if !crate::identifier::is_username(username) || password.chars().any(char::is_control) {
        return None;
    }
    Some(Credentials {
        username: username.to_string(),
        password: password.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_username_and_never_the_password() {
        let c = Credentials {
            username: "alice".into(),
            password: "hunter2-secret".into(),
        };
        let shown = format!("{c:?}");
        assert!(
            shown.contains("alice") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    fn one(v: &str) -> Option<Credentials> {
        parse([v.as_bytes()])
    }

    fn basic(raw: &[u8]) -> String {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }

    #[test]
    fn parses_the_quay_example() {
        let c = one("Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl").unwrap();
        assert_eq!(c.username, "username");
        assert_eq!(c.password, "passwordhere");
    }

    #[test]
    fn scheme_is_case_insensitive_and_padding_optional() {
        assert!(one("basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl").is_some());
        assert!(one("BASIC   dXNlcm5hbWU6cGFzc3dvcmRoZXJl").is_some());
        assert_eq!(one("Basic dTpw").unwrap().password, "p");
        assert_eq!(one("Basic dTpwMQ").unwrap().password, "p1");
        assert_eq!(one("Basic dTpwMQ==").unwrap().password, "p1");
    }

    #[test]
    fn splits_at_the_first_colon_and_allows_utf8() {
        let c = one(&basic("alice:pa:ss:word".as_bytes())).unwrap();
        assert_eq!(
            (c.username.as_str(), c.password.as_str()),
            ("alice", "pa:ss:word")
        );
        let c = one(&basic("zoë:mot de passe é".as_bytes())).unwrap();
        assert_eq!(c.username, "zoë");
        assert_eq!(one(&basic(b"bob:")).unwrap().password, "");
    }

    #[test]
    fn whitespace_around_the_value_is_ignored() {
        let c = one(&format!(" \t{}\t ", basic(b"alice:pw"))).unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("alice", "pw"));
    }

    #[test]
    fn a_value_is_read_up_to_the_byte_cap_and_not_one_byte_more() {
        // Good credentials whose unpadded base64 makes the whole value `len` bytes long.
        let value = |password_bytes: usize| {
            let raw = format!("alice:{}", "p".repeat(password_bytes));
            let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(raw);
            format!("Basic {encoded}")
        };
        let (at_cap, over) = (value(3061), value(3062));
        assert_eq!(
            (at_cap.len(), over.len()),
            (MAX_HEADER_BYTES, MAX_HEADER_BYTES + 1)
        );
        assert!(one(&at_cap).is_some());
        assert_eq!(one(&over), None);
    }

    #[test]
    fn malformed_credentials_are_refused() {
        let long = format!("Basic {}", "A".repeat(MAX_HEADER_BYTES));
        let bad = [
            basic(b"no-colon"),
            basic(b":empty-user"),
            basic(b"bad\xffutf8:x"),
            basic(b"ctl\x01:x"),
            basic(b"u:ctl\x7f"),
            basic(b"u:new\nline"),
            "Basic !!!not-base64!!!".to_string(),
            "Basic".to_string(),
            "Basic ".to_string(),
            "Bearer dXNlcm5hbWU6cGFzc3dvcmRoZXJl".to_string(),
            "Digest username=\"a\"".to_string(),
            "dXNlcm5hbWU6cGFzc3dvcmRoZXJl".to_string(),
            "Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl, Basic dTpw".to_string(),
            long,
        ];
        for v in bad {
            assert_eq!(one(&v), None, "{v:.60}");
        }
        assert_eq!(parse([]), None);
        assert_eq!(parse([&b"Basic \xff"[..]]), None);
    }

    #[test]
    fn usernames_are_at_most_255_bytes() {
        let ok = format!("{}:pw", "u".repeat(MAX_USERNAME_BYTES));
        assert!(one(&basic(ok.as_bytes())).is_some());
        let long = format!("{}:pw", "u".repeat(MAX_USERNAME_BYTES + 1));
        assert_eq!(one(&basic(long.as_bytes())), None);
    }

    #[test]
    fn two_headers_are_refused() {
        let v = b"Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl";
        assert_eq!(parse([&v[..], &v[..]]), None);
    }

    #[test]
    fn debug_never_shows_the_password() {
        let c = one("Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl").unwrap();
        assert!(!format!("{c:?}").contains("passwordhere"));
    }
}
