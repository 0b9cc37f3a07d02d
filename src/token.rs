//! Access tokens: `doa_<id><secret><checksum>.<user>.<client>`, base64url but for the two
//! dots, so they survive fragments and form decoding untouched (contract "Tokens"). The
//! prefix lets a secret scanner find a leaked token (`doa_[A-Za-z0-9_-]{71}`), and the
//! checksum lets it, and us, tell a token from a string that only looks like one without a
//! read. Tokens issued before the prefix (`<id><secret>`, 65 characters) and before the
//! [`IssuedTo`] suffix (`doa_<id><secret><checksum>`) keep working.
//!
//! The id (128 bits) is the public lookup key; only SHA-256 of the secret (256 bits) is
//! stored. A fast hash is enough: the secret is random, not a password.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::identifier;
use crate::random::{Random, RandomError};

pub const ID_BYTES: usize = 16;
pub const SECRET_BYTES: usize = 32;
/// Characters of the encoded id and secret (unpadded base64url).
pub const ID_LEN: usize = 22;
pub const SECRET_LEN: usize = 43;
/// What every token issued now starts with ("direct-oauth access").
pub const PREFIX: &str = "doa_";
/// Characters of the checksum: base64url of the first 4 bytes of SHA-256 of the rest.
pub const CHECKSUM_LEN: usize = 6;
/// A token as issued now, and one issued before the prefix.
pub const TOKEN_LEN: usize = PREFIX.len() + ID_LEN + SECRET_LEN + CHECKSUM_LEN;
pub const LEGACY_TOKEN_LEN: usize = ID_LEN + SECRET_LEN;

/// Whether `id` has a token id's form (22 base64url characters): anything else names no
/// token, and is answered without a read.
pub fn is_token_id(id: &str) -> bool {
    id.len() == ID_LEN && is_base64url(id)
}

/// Whom a token was issued to: its user's key and its application's client id, carried
/// after the secret (base64url each) so that a check reads the token's record, its user and
/// its application in one round trip instead of two. A routing hint, never an authority:
/// the check refuses a token whose record names anyone else (`token_check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedTo {
    pub username: String,
    pub client_id: String,
}

impl IssuedTo {
    pub fn new(username: &str, client_id: &str) -> Self {
        IssuedTo {
            username: username.to_string(),
            client_id: client_id.to_string(),
        }
    }

    /// `<user>.<client>`, each base64url; `None` unless both decode to names a user and an
    /// application can have.
    fn parse(suffix: &str) -> Option<Self> {
        let (user, client) = suffix.split_once('.')?;
        // Longer than any allowed name's encoding: refused before it is decoded.
        let longest = |max: usize| max.div_ceil(3) * 4;
        if user.len() > longest(identifier::MAX_USERNAME_BYTES)
            || client.len() > longest(identifier::MAX_CLIENT_ID_BYTES)
        {
            return None;
        }
        let decode = |part: &str| {
            let bytes = URL_SAFE_NO_PAD.decode(part).ok()?;
            String::from_utf8(bytes).ok()
        };
        let to = IssuedTo {
            username: decode(user)?,
            client_id: decode(client)?,
        };
        let sound =
            identifier::is_username(&to.username) && identifier::is_client_id(&to.client_id);
        sound.then_some(to)
    }

    fn suffix(&self) -> String {
        let user = URL_SAFE_NO_PAD.encode(&self.username);
        format!(".{user}.{}", URL_SAFE_NO_PAD.encode(&self.client_id))
    }
}

/// Which form a token was presented in: kept, so it is shown back exactly (a DPoP
/// proof's `ath` is the hash of the token as the client holds it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    Prefixed,
    Legacy,
}

/// A token, freshly generated or presented. `Debug` shows the id only.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    id: String,
    secret: String,
    form: Form,
    issued_to: Option<IssuedTo>,
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessToken")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("issued_to", &self.issued_to)
            .finish()
    }
}

impl AccessToken {
    pub fn generate(random: &impl Random) -> Result<Self, RandomError> {
        let (id, secret) = generate_parts(random)?;
        Ok(AccessToken {
            id,
            secret,
            form: Form::Prefixed,
            issued_to: None,
        })
    }

    /// The token as handed to the client who holds it for `to`: a generated token's id
    /// is chosen before its user is known (a code's exchange), so the names come last.
    pub fn issued_to(self, to: IssuedTo) -> Self {
        AccessToken {
            issued_to: Some(to),
            ..self
        }
    }

    /// Splits a presented token into id, secret and whom it names; `None` if it cannot be
    /// one of ours (a prefixed token whose checksum is wrong included).
    pub fn parse(token: &str) -> Option<Self> {
        let (core, issued_to) = match token.split_once('.') {
            Some((core, suffix)) => (core, Some(IssuedTo::parse(suffix)?)),
            None => (token, None),
        };
        let (body, form) = match parse_prefixed(PREFIX, core) {
            Some(body) => (body, Form::Prefixed),
            None if issued_to.is_none() && core.len() == LEGACY_TOKEN_LEN && is_base64url(core) => {
                (core, Form::Legacy)
            }
            None => return None,
        };
        Some(AccessToken {
            id: body[..ID_LEN].to_string(),
            secret: body[ID_LEN..].to_string(),
            form,
            issued_to,
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whom the token names, if it is of the form that does.
    pub fn named(&self) -> Option<&IssuedTo> {
        self.issued_to.as_ref()
    }

    /// The whole token, as the client holds it: never log it.
    pub fn expose(&self) -> String {
        let core = match self.form {
            Form::Prefixed => expose_prefixed(PREFIX, &self.id, &self.secret),
            Form::Legacy => format!("{}{}", self.id, self.secret),
        };
        match &self.issued_to {
            Some(to) => core + &to.suffix(),
            None => core,
        }
    }

    pub fn secret_hash(&self) -> [u8; 32] {
        Sha256::digest(self.secret.as_bytes()).into()
    }

    /// Compares with a stored hash in constant time.
    pub fn secret_matches(&self, stored_hash: &[u8]) -> bool {
        self.secret_hash().ct_eq(stored_hash).into()
    }
}

/// A fresh id and secret, base64url: the parts of an access token, or of a refresh token
/// ([`crate::refresh`]), which is laid out the same under its own prefix.
pub(crate) fn generate_parts(random: &impl Random) -> Result<(String, String), RandomError> {
    let mut id = [0u8; ID_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    random.fill(&mut id)?;
    random.fill(&mut secret)?;
    Ok((URL_SAFE_NO_PAD.encode(id), URL_SAFE_NO_PAD.encode(secret)))
}

/// `<prefix><id><secret><checksum>`.
pub(crate) fn expose_prefixed(prefix: &str, id: &str, secret: &str) -> String {
    let body = format!("{id}{secret}");
    format!("{prefix}{body}{}", checksum(prefix, &body))
}

/// The id and secret (`<id><secret>`, [`LEGACY_TOKEN_LEN`] characters) of a string laid
/// out as [`expose_prefixed`] lays it out under `prefix`, its checksum sound; `None`
/// otherwise.
pub(crate) fn parse_prefixed<'t>(prefix: &str, token: &'t str) -> Option<&'t str> {
    let rest = token.strip_prefix(prefix)?;
    // Checked to be ASCII before it is split, so the split is on a character.
    if rest.len() != LEGACY_TOKEN_LEN + CHECKSUM_LEN || !is_base64url(rest) {
        return None;
    }
    let (body, sum) = rest.split_at(LEGACY_TOKEN_LEN);
    let sound: bool = checksum(prefix, body)
        .as_bytes()
        .ct_eq(sum.as_bytes())
        .into();
    sound.then_some(body)
}

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The checksum of a prefixed token's id and secret: base64url of SHA-256's first 4 bytes.
fn checksum(prefix: &str, body: &str) -> String {
    let digest = Sha256::digest(format!("{prefix}{body}").as_bytes());
    URL_SAFE_NO_PAD.encode(&digest[..4])
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_token_id_is_22_base64url_characters() {
        assert!(is_token_id("abcdefghijklmnopqrst-_"));
        assert!(!is_token_id("abcdefghijklmnopqrst-"));
        assert!(!is_token_id("abcdefghijklmnopqrst-+"));
        assert!(!is_token_id(&"a".repeat(3000)));
    }

    use super::*;
    use crate::random::{CountingRandom, OsRandom};

    #[test]
    fn tokens_are_base64url_and_long_enough() {
        let t = AccessToken::generate(&OsRandom).unwrap();
        let s = t.expose();
        assert_eq!(s.len(), TOKEN_LEN);
        assert!(
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(
            url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>(),
            s
        );
        assert_ne!(AccessToken::generate(&OsRandom).unwrap(), t);
    }

    #[test]
    fn round_trips_and_verifies_its_secret() {
        let t = AccessToken::generate(&CountingRandom::default()).unwrap();
        let shown = t.expose();
        assert!(shown.starts_with(PREFIX));
        let back = AccessToken::parse(&shown).unwrap();
        assert_eq!((back.id(), back.expose()), (t.id(), shown.clone()));
        assert!(back.secret_matches(&t.secret_hash()));
    }

    #[test]
    fn a_changed_character_breaks_the_checksum() {
        let shown = AccessToken::generate(&OsRandom).unwrap().expose();
        for at in PREFIX.len()..TOKEN_LEN {
            let mut changed = shown.clone();
            let c = if &shown[at..=at] == "A" { "B" } else { "A" };
            changed.replace_range(at..=at, c);
            assert!(AccessToken::parse(&changed).is_none(), "at {at}");
        }
    }

    #[test]
    fn tokens_issued_before_the_prefix_keep_working() {
        let legacy = "AAAAAAAAAAAAAAAAAAAAAA".to_string() + &"b".repeat(SECRET_LEN);
        let t = AccessToken::parse(&legacy).unwrap();
        assert_eq!(
            (t.id(), t.expose()),
            ("AAAAAAAAAAAAAAAAAAAAAA", legacy.clone())
        );
        // One that happens to start like a prefixed token is still read as it was issued.
        let lookalike = format!("{PREFIX}{}", &legacy[PREFIX.len()..]);
        assert_eq!(AccessToken::parse(&lookalike).unwrap().expose(), lookalike);
    }

    #[test]
    fn parse_refuses_what_we_never_issue() {
        let t = AccessToken::generate(&OsRandom).unwrap().expose();
        assert!(AccessToken::parse(&t[1..]).is_none());
        assert!(AccessToken::parse(&format!("{t}A")).is_none());
        assert!(AccessToken::parse(&t.replace(|_| true, ".")).is_none());
        assert!(AccessToken::parse(&t.replacen(PREFIX, "dob_", 1)).is_none());
        assert!(AccessToken::parse("").is_none());
        // Not ASCII, of the right length: refused, never split inside a character.
        let wide = format!("{PREFIX}{}", "é".repeat((TOKEN_LEN - PREFIX.len()) / 2));
        assert!(AccessToken::parse(&format!("{wide}a")).is_none());
    }

    fn alice_of_quay() -> IssuedTo {
        IssuedTo {
            username: "zoë".into(),
            client_id: "some_client_id".into(),
        }
    }

    #[test]
    fn a_token_issued_now_names_its_user_and_client_after_its_secret() {
        let t = AccessToken::generate(&CountingRandom::default()).unwrap();
        let core = t.expose();
        let shown = t.clone().issued_to(alice_of_quay()).expose();
        // The scanner's pattern still finds the part that holds the secret.
        assert_eq!(&shown[..TOKEN_LEN], core);
        assert_eq!(&shown[TOKEN_LEN..], ".em_Dqw.c29tZV9jbGllbnRfaWQ");
        let back = AccessToken::parse(&shown).unwrap();
        assert_eq!((back.id(), back.named()), (t.id(), Some(&alice_of_quay())));
        assert_eq!(back.expose(), shown);
        assert!(back.secret_matches(&t.secret_hash()));
        // The same id and secret without the names: a token issued before, still read.
        assert_eq!(AccessToken::parse(&core).unwrap().named(), None);
    }

    #[test]
    fn names_that_no_user_or_client_can_have_make_a_token_malformed() {
        let core = AccessToken::generate(&OsRandom).unwrap().expose();
        let b64 = |s: &[u8]| URL_SAFE_NO_PAD.encode(s);
        let good = b64(b"username");
        for suffix in [
            ".".into(),
            format!(".{good}"),
            format!(".{good}."),
            format!("..{good}"),
            format!(".{good}.{good}.{good}"),
            format!(".{}.{good}", b64(b"al:ice")),
            format!(".{good}.{}", b64(b"a,b")),
            format!(".{good}.{}", b64(&[0xff, 0xfe])),
            format!(".{}.{good}", b64("u".repeat(256).as_bytes())),
            format!(".{good}.{}", "A".repeat(5000)),
            format!(".{good}.c29tZV9jbGllbnRfaWQ="),
        ] {
            assert!(
                AccessToken::parse(&format!("{core}{suffix}")).is_none(),
                "{suffix}"
            );
        }
        let legacy = "A".repeat(LEGACY_TOKEN_LEN);
        assert!(AccessToken::parse(&format!("{legacy}.{good}.{good}")).is_none());
    }

    #[test]
    fn debug_hides_the_secret() {
        let t = AccessToken::generate(&OsRandom).unwrap();
        let shown = format!("{t:?}");
        assert!(shown.contains(t.id()));
        let secret = &t.expose()[PREFIX.len() + ID_LEN..][..SECRET_LEN];
        assert!(!shown.contains(secret));
    }
}
