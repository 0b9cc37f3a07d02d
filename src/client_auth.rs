//! How a client authenticates at the token and introspection endpoints (RFC 6749 §2.3.1):
//! `client_secret_basic` (an `Authorization: Basic` header whose two parts are each
//! form-encoded) or `client_secret_post` (`client_id` and `client_secret` in the form), or
//! no secret at all (a public client, token endpoint only). Never both methods at once.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode_str;

use crate::error::ApiError;
use crate::form::Form;
use crate::identifier;
use crate::secret;
use crate::store::Application;

/// Who the caller says it is, and how. `Debug` leaves the secret out.
#[derive(Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub secret: Option<String>,
    /// Whether the header was used: a failure then answers 401 with `WWW-Authenticate`.
    pub basic: bool,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("basic", &self.basic)
            .finish()
    }
}

/// The client's credentials from the `Authorization` header values and the form.
pub fn parse<'a>(
    authorization: impl IntoIterator<Item = &'a [u8]>,
    form: &Form,
) -> Result<ClientCredentials, ApiError> {
    let mut headers = authorization.into_iter();
    let header = match (headers.next(), headers.next()) {
        (None, _) => None,
        (Some(h), None) => Some(h),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_request(
                "one Authorization header at most",
            ));
        }
    };
    let posted = form.get("client_secret");
    let credentials = match header {
        Some(value) => {
            if posted.is_some() {
                return Err(ApiError::invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            let (client_id, secret) =
                basic(value).ok_or(ApiError::InvalidClient { basic: true })?;
            if form.get("client_id").is_some_and(|id| id != client_id) {
                return Err(ApiError::InvalidClient { basic: true });
            }
            ClientCredentials {
                client_id,
                secret: Some(secret),
                basic: true,
            }
        }
        None => {
            let client_id = form
                .get("client_id")
                .ok_or_else(|| ApiError::invalid_request("client_id is required"))?;
            ClientCredentials {
                client_id: client_id.to_string(),
                secret: posted.map(str::to_string),
                basic: false,
            }
        }
    };
    // An id no application can have is refused here, before it reaches a store key.
    if !identifier::is_client_id(&credentials.client_id) {
        return Err(ApiError::InvalidClient {
            basic: credentials.basic,
        });
    }
    Ok(credentials)
}

/// `Basic base64(urlencode(id) ":" urlencode(secret))`.
fn basic(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    // Each part is application/x-www-form-urlencoded (RFC 6749 §2.3.1): `+` is a space.
    let unescape = |s: &str| {
        let spaced = s.replace('+', " ");
        percent_decode_str(&spaced)
            .decode_utf8()
            .ok()
            .map(|v| v.into_owned())
    };
    let (id, secret) = (unescape(id)?, unescape(secret)?);
    (!id.is_empty() && !secret.is_empty()).then_some((id, secret))
}

/// A confidential application proves its secret; a public one presents none (PKCE is its
/// proof). Unknown clients and wrong secrets look alike.
pub fn authenticate<'a>(
    app: Option<&'a Application>,
    client: &ClientCredentials,
) -> Result<&'a Application, ApiError> {
    let refused = ApiError::InvalidClient {
        basic: client.basic,
    };
    let app = app.ok_or(refused.clone())?;
    match (app.secret_hash.as_ref(), client.secret.as_deref()) {
        (Some(stored), Some(secret)) if secret::matches(secret, stored) => Ok(app),
        (None, None) => Ok(app),
        _ => Err(refused),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        crate::form::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn debug_shows_the_client_and_never_the_secret() {
        let c = ClientCredentials {
            client_id: "cli".into(),
            secret: Some("s3cret-value".into()),
            basic: true,
        };
        let shown = format!("{c:?}");
        assert!(
            shown.contains("cli") && shown.contains("<redacted>"),
            "{shown}"
        );
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    fn header(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_post_and_public_clients() {
        let h = header("app", "s%3Ae");
        let c = parse([h.as_bytes()], &form("grant_type=x")).unwrap();
        assert_eq!(
            (c.client_id.as_str(), c.secret.as_deref(), c.basic),
            ("app", Some("s:e"), true)
        );
        let c = parse([], &form("client_id=app&client_secret=s")).unwrap();
        assert_eq!((c.secret.as_deref(), c.basic), (Some("s"), false));
        let c = parse([], &form("client_id=app")).unwrap();
        assert_eq!(c.secret, None);
    }

    #[test]
    fn two_methods_a_mismatch_and_garbage_are_refused() {
        let h = header("app", "s");
        assert!(parse([h.as_bytes()], &form("client_secret=s")).is_err());
        let two = parse([h.as_bytes(), h.as_bytes()], &form(""));
        assert_eq!(
            two.unwrap_err().status(),
            400,
            "two headers: a malformed request"
        );
        let long = "a".repeat(3000);
        let r = parse([], &form(&format!("client_id={long}")));
        assert_eq!(
            r,
            Err(ApiError::InvalidClient { basic: false }),
            "never a store key"
        );
        let amp = header("app", "a%26b+c");
        let c = parse([amp.as_bytes()], &form("")).unwrap();
        assert_eq!(
            c.secret.as_deref(),
            Some("a&b c"),
            "the whole part, decoded"
        );
        assert!(
            !format!("{c:?}").contains("a&b"),
            "Debug never shows the secret"
        );
        assert_eq!(
            parse([h.as_bytes()], &form("client_id=other")),
            Err(ApiError::InvalidClient { basic: true })
        );
        assert!(parse([&b"Basic !!!"[..]], &form("")).is_err());
        assert!(parse([], &form("")).is_err());
        for (id, secret) in [("", "s"), ("app", "")] {
            let h = header(id, secret);
            assert_eq!(
                parse([h.as_bytes()], &form("")),
                Err(ApiError::InvalidClient { basic: true }),
                "an empty part in the header: {id:?}:{secret:?}"
            );
        }
    }
}
