//! Redirect URI rules: exact matching at request time (contract check 6, RFC 9700 §4.1.3)
//! and validation at registration time.
//!
//! Registered URIs are kept as the operator typed them and compared as strings: no URL
//! parsing or normalising at match time, since every normalisation is a chance for two
//! parsers to disagree about where a redirect goes.

use crate::error::ApiError;

/// Loopback prefixes whose port may differ from the registered one (RFC 8252 §7.3).
const LOOPBACK_PREFIXES: [&str; 2] = ["http://127.0.0.1", "http://[::1]"];

/// Picks the redirect URI for a request: the requested one if it matches a registered one,
/// or the only registered one when none was requested.
pub fn select(registered: &[String], requested: Option<&str>) -> Result<String, ApiError> {
    match requested {
        None => match registered {
            [only] => Ok(only.clone()),
            [] => Err(ApiError::invalid_request(
                "the application has no registered redirect_uri",
            )),
            _ => Err(ApiError::invalid_request(
                "redirect_uri is required: the application has several registered",
            )),
        },
        Some(uri) if matches_any(registered, uri) => Ok(uri.to_string()),
        Some(_) => Err(ApiError::invalid_request(
            "redirect_uri does not match a registered redirect URI",
        )),
    }
}

/// Whether `requested` may be used for any of the registered URIs.
pub fn matches_any<S: AsRef<str>>(registered: &[S], requested: &str) -> bool {
    registered.iter().any(|r| matches(r.as_ref(), requested))
}

/// Whether `requested` may be used for the registered URI `registered`.
pub fn matches(registered: &str, requested: &str) -> bool {
    if requested.contains('#') {
        return false;
    }
    if registered == requested {
        return true;
    }
    match (split_loopback(registered), split_loopback(requested)) {
        (Some((host_a, rest_a)), Some((host_b, rest_b))) => host_a == host_b && rest_a == rest_b,
        _ => false,
    }
}

/// For `http://127.0.0.1:PORT/rest` gives `("http://127.0.0.1", "/rest")`; `None` for
/// anything that is not exactly a loopback IP literal with an optional numeric port.
fn split_loopback(uri: &str) -> Option<(&str, &str)> {
    let prefix = LOOPBACK_PREFIXES.iter().find(|p| uri.starts_with(*p))?;
    let mut rest = &uri[prefix.len()..];
    if let Some(after_colon) = rest.strip_prefix(':') {
        let digits = after_colon.len()
            - after_colon
                .trim_start_matches(|c: char| c.is_ascii_digit())
                .len();
        let port: u32 = after_colon[..digits].parse().ok()?;
        if digits > 5 || !(1..=65535).contains(&port) {
            return None;
        }
        rest = &after_colon[digits..];
    }
    // Anything else after the host (a dot, `@`, a letter) means another host entirely.
    if rest.is_empty() || rest.starts_with('/') || rest.starts_with('?') {
        Some((prefix, rest))
    } else {
        None
    }
}

/// Checks a URI an operator wants to register: absolute, no fragment, no whitespace or
/// control characters, `https` (or `http` on a loopback IP literal), or a private-use
/// scheme of a native app (RFC 8252 §7.1: reverse domain name, so it contains a dot).
pub fn validate_registration(uri: &str) -> Result<(), String> {
    if uri.is_empty() || uri.len() > 2048 {
        return Err("a redirect URI must be 1 to 2048 characters".into());
    }
    if !uri.is_ascii() {
        return Err(
            "a redirect URI must be ASCII: percent-encode other characters (RFC 3986)".into(),
        );
    }
    if uri
        .chars()
        .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return Err(
            "a redirect URI must not contain spaces, control characters or backslashes".into(),
        );
    }
    if uri.contains('#') {
        return Err("a redirect URI must not contain a fragment (RFC 6749 §3.1.2)".into());
    }
    let parsed = url::Url::parse(uri).map_err(|e| format!("not an absolute URI: {e}"))?;
    match parsed.scheme() {
        "https" => {
            if parsed.host_str().is_none_or(str::is_empty) {
                return Err("an https redirect URI needs a host".into());
            }
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err("a redirect URI must not carry user information".into());
            }
            Ok(())
        }
        "http" if split_loopback(uri).is_some() => Ok(()),
        "http" => Err(
            "http is only allowed for loopback IP literals (http://127.0.0.1 or http://[::1]); use https"
                .into(),
        ),
        scheme if scheme.contains('.') => Ok(()),
        scheme => Err(format!(
            "the scheme {scheme:?} is not allowed: use https, loopback http, or a reverse-domain private-use scheme"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const QUAY: &str = "https://my/internal/application/token_created";

    fn reg(uris: &[&str]) -> Vec<String> {
        uris.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn exact_match_is_accepted() {
        assert_eq!(select(&reg(&[QUAY]), Some(QUAY)).unwrap(), QUAY);
        let with_query = "https://app.example/cb?x=1";
        assert_eq!(
            select(&reg(&[QUAY, with_query]), Some(with_query)).unwrap(),
            with_query
        );
    }

    #[test]
    fn omitted_uri_needs_exactly_one_registered() {
        assert_eq!(select(&reg(&[QUAY]), None).unwrap(), QUAY);
        assert!(select(&reg(&[QUAY, "https://b.example/cb"]), None).is_err());
        assert!(select(&reg(&[]), None).is_err());
    }

    #[test]
    fn tricks_are_refused() {
        let registered = "https://app.example/cb";
        let attempts = [
            "https://app.example/cb/",
            "https://app.example/cb/../evil",
            "https://app.example/cb/%2e%2e/evil",
            "https://app.example/cbx",
            "https://app.example/c",
            "https://app.example/cb?extra=1",
            "https://app.example/cb#frag",
            "https://app.example/cb#",
            "https://APP.example/cb",
            "HTTPS://app.example/cb",
            "https://app.example/CB",
            "https://app.example:443/cb",
            "https://app.example.evil.com/cb",
            "https://evil.com@app.example/cb",
            "https://app.example@evil.com/cb",
            "https://app.example\\@evil.com/cb",
            "https:\\\\app.example/cb",
            "//app.example/cb",
            "http://app.example/cb",
            "javascript:alert(1)//https://app.example/cb",
            "data:text/html,https://app.example/cb",
            " https://app.example/cb",
            "https://app.example/cb ",
            "",
        ];
        for uri in attempts {
            assert!(!matches(registered, uri), "{uri}");
            assert!(select(&reg(&[registered]), Some(uri)).is_err(), "{uri}");
        }
    }

    #[test]
    fn loopback_may_change_port_only() {
        let registered = "http://127.0.0.1/callback";
        assert!(matches(registered, "http://127.0.0.1:51234/callback"));
        assert!(matches(
            "http://127.0.0.1:8080/callback",
            "http://127.0.0.1:9/callback"
        ));
        assert!(matches(
            "http://[::1]:1/cb?x=1",
            "http://[::1]:65535/cb?x=1"
        ));
        let refused = [
            "http://127.0.0.1:51234/callback/",
            "http://127.0.0.1:51234/other",
            "http://127.0.0.1:0/callback",
            "http://127.0.0.1:65536/callback",
            "http://127.0.0.1:/callback",
            "http://127.0.0.1:0080800/callback",
            "http://127.0.0.1.evil.com/callback",
            "http://127.0.0.1@evil.com/callback",
            "http://127.0.0.1:80@evil.com/callback",
            "http://127.0.0.2/callback",
            "http://localhost/callback",
            "http://[::1]/callback",
            "https://127.0.0.1/callback",
            "http://127.0.0.1:8080/callback#x",
        ];
        for uri in refused {
            assert!(!matches(registered, uri), "{uri}");
        }
    }

    #[test]
    fn registration_rules() {
        for ok in [
            QUAY,
            "https://app.example/cb?x=1",
            "http://127.0.0.1/cb",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:8080/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(validate_registration(ok), Ok(()), "{ok}");
        }
        for bad in [
            "/relative/path",
            "app.example/cb",
            "//app.example/cb",
            "https://app.example/cb#frag",
            "https://app.example/cb#",
            "http://app.example/cb",
            "http://localhost/cb",
            "http://127.0.0.1.evil.com/cb",
            "javascript:alert(1)",
            "data:text/html,hi",
            "file:///etc/passwd",
            "https://user:pw@app.example/cb",
            "https://app.example/c b",
            "https://app.example/cb\n",
            "https://app.example/caf\u{e9}",
            "",
        ] {
            assert!(validate_registration(bad).is_err(), "{bad}");
        }
    }
}
