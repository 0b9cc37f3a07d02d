//! Strict `application/x-www-form-urlencoded` parsing (WHATWG URL §5.1), with the
//! contract's extra rules: a size cap, valid UTF-8 after decoding, and no repeated field.
//!
//! `url::form_urlencoded` is deliberately lenient (bad escapes pass through, bad UTF-8 is
//! replaced); an OAuth server should refuse such bodies instead of guessing.

use std::collections::HashMap;

use crate::error::ApiError;

/// Largest body accepted (contract check 2).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Field names whose repetition is reported by name; other names are client-chosen text
/// and are not echoed back.
const KNOWN_FIELDS: [&str; 5] = [
    "client_id",
    "redirect_uri",
    "scope",
    "response_type",
    "state",
];

/// A parsed form with each field present at most once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Form {
    fields: HashMap<String, String>,
}

impl Form {
    /// A field's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The rest of each field name that starts with `prefix` and has a value, sorted:
    /// a page's checkboxes named `prefix<choice>`, since no field may repeat.
    pub fn prefixed(&self, prefix: &str) -> Vec<&str> {
        let mut chosen: Vec<&str> = self
            .fields
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .filter_map(|(name, _)| name.strip_prefix(prefix))
            .collect();
        chosen.sort_unstable();
        chosen
    }
}

pub fn parse(body: &[u8]) -> Result<Form, ApiError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge {
            limit: MAX_BODY_BYTES,
        });
    }
    let mut fields = HashMap::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let name = decode(name)?;
        let value = decode(value)?;
        if fields.contains_key(&name) {
            return Err(repeated(&name));
        }
        fields.insert(name, value);
    }
    Ok(Form { fields })
}

fn repeated(name: &str) -> ApiError {
    if KNOWN_FIELDS.contains(&name) {
        ApiError::invalid_request(format!("the field {name} is repeated"))
    } else {
        ApiError::invalid_request("a form field is repeated")
    }
}

/// Percent-decodes one name or value, `+` meaning a space.
fn decode(raw: &[u8]) -> Result<String, ApiError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3).and_then(hex_byte).ok_or_else(|| {
                    ApiError::invalid_request("the body has an invalid percent-escape")
                })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::invalid_request("the body is not valid UTF-8 once decoded"))
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| (b as char).to_digit(16);
    Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_quay_example() {
        let f = parse(b"client_id=some_client_id&redirect_uri=https://my/internal/application/token_created&scope=repo:push,org:admin").unwrap();
        assert_eq!(f.get("client_id"), Some("some_client_id"));
        assert_eq!(
            f.get("redirect_uri"),
            Some("https://my/internal/application/token_created")
        );
        assert_eq!(f.get("scope"), Some("repo:push,org:admin"));
        assert_eq!(f.get("state"), None);
    }

    #[test]
    fn decodes_percent_escapes_and_plus() {
        let f = parse(b"scope=repo%3Aread+org%3Aadmin&state=a%2Bb%26c%3Dd&x=%C3%A9").unwrap();
        assert_eq!(f.get("scope"), Some("repo:read org:admin"));
        assert_eq!(f.get("state"), Some("a+b&c=d"));
        assert_eq!(f.get("x"), Some("é"));
    }

    #[test]
    fn empty_values_count_as_absent_and_empty_pairs_are_skipped() {
        let f = parse(b"&&client_id=&state&scope=x&").unwrap();
        assert_eq!(f.get("client_id"), None);
        assert_eq!(f.get("state"), None);
        assert_eq!(f.get("scope"), Some("x"));
    }

    #[test]
    fn repeated_fields_are_refused() {
        let err = parse(b"client_id=a&client_id=b").unwrap_err();
        assert_eq!(
            err,
            ApiError::invalid_request("the field client_id is repeated")
        );
        // Repetition is judged after decoding: an escaped name is the same field.
        assert!(parse(b"scope=a&sc%6Fpe=b").is_err());
        let err = parse(b"secret%3Dhunter2=a&secret%3Dhunter2=b").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
    }

    #[test]
    fn bad_escapes_and_bad_utf8_are_refused() {
        for body in [&b"a=%zz"[..], b"a=%4", b"a=%", b"a=%C3%28", b"a=\xff"] {
            assert_eq!(parse(body).unwrap_err().status(), 400, "{body:?}");
        }
    }

    #[test]
    fn size_cap_is_16_kib() {
        let mut body = b"client_id=".to_vec();
        body.resize(MAX_BODY_BYTES, b'a');
        assert!(parse(&body).is_ok());
        body.push(b'a');
        assert_eq!(
            parse(&body).unwrap_err(),
            ApiError::PayloadTooLarge {
                limit: MAX_BODY_BYTES
            }
        );
    }

    #[test]
    fn json_is_not_a_form_field() {
        // A JSON body parses as one odd field name; the caller then finds no client_id.
        let f = parse(br#"{"client_id":"a"}"#).unwrap();
        assert_eq!(f.get("client_id"), None);
    }
}
