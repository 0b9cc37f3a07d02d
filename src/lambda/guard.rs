//! The event guard: keeps client-controlled event fields from reaching the places where
//! `lambda_http`'s conversion of an event into a request panics (a panic is a dead
//! instance: `panic = "abort"`). `tests/it/event_fuzz.rs` feeds arbitrary strings into
//! every such field of every kind of event.

use std::task::{Context, Poll};

use base64::Engine;
use http::HeaderMap;
use http::header::AUTHORIZATION;
use lambda_http::request::LambdaRequest;
use lambda_http::{LambdaEvent, Service};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::request::{BODY_ERROR_HEADER, QUERY_HEADER};
use lambda_http::aws_lambda_events::query_map::QueryMap;

/// Runs before `lambda_http` turns the event into a request, and removes what would make
/// that conversion panic: a body flagged base64 that is not (marked with
/// [`BODY_ERROR_HEADER`] and answered 400), and the URI's parts; see [`sanitize`].
pub struct EventGuard<S>(pub S);

impl<S> Service<LambdaEvent<LambdaRequest>> for EventGuard<S>
where
    S: Service<LambdaEvent<LambdaRequest>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut event: LambdaEvent<LambdaRequest>) -> Self::Future {
        sanitize(&mut event.payload);
        self.0.call(event)
    }
}

/// Makes an event safe to convert; see [`EventGuard`].
///
/// `lambda_http` builds the request's URI from the path, the query, the `Host` and
/// `X-Forwarded-Proto` headers, and panics when they do not form one. The function reads
/// none of them but the path's end and the query (the pages'), so the query is kept aside
/// in a header, those two headers are dropped, and the path is percent-encoded down to
/// characters a URI path always takes.
pub fn sanitize(event: &mut LambdaRequest) {
    match event {
        LambdaRequest::ApiGatewayV1(e) => {
            keep_repeated_credentials(&mut e.headers, &e.multi_value_headers);
            fix_body(&mut e.body, &mut e.is_base64_encoded, &mut e.headers);
            drop_uri_headers(&mut e.headers);
            drop_uri_headers(&mut e.multi_value_headers);
            safe_path(&mut e.path);
            // REST APIs decode the parameters: encoded again.
            let query = encoded(&e.multi_value_query_string_parameters);
            keep_query(&mut e.headers, query);
            e.multi_value_headers.remove(QUERY_HEADER);
            e.query_string_parameters = Default::default();
            e.multi_value_query_string_parameters = Default::default();
            e.multi_value_headers.remove(BODY_ERROR_HEADER);
        }
        LambdaRequest::ApiGatewayV2(e) => {
            keep_query(&mut e.headers, e.raw_query_string.take());
            fix_body(&mut e.body, &mut e.is_base64_encoded, &mut e.headers);
            drop_uri_headers(&mut e.headers);
            safe_path(&mut e.raw_path);
            e.raw_query_string = None;
            e.query_string_parameters = Default::default();
        }
        LambdaRequest::Alb(e) => {
            keep_repeated_credentials(&mut e.headers, &e.multi_value_headers);
            fix_body(&mut e.body, &mut e.is_base64_encoded, &mut e.headers);
            drop_uri_headers(&mut e.headers);
            drop_uri_headers(&mut e.multi_value_headers);
            safe_path(&mut e.path);
            // An ALB passes the parameters as the client sent them, encoded.
            keep_query(
                &mut e.headers,
                as_sent(&e.multi_value_query_string_parameters),
            );
            e.multi_value_headers.remove(QUERY_HEADER);
            e.query_string_parameters = Default::default();
            e.multi_value_query_string_parameters = Default::default();
            e.multi_value_headers.remove(BODY_ERROR_HEADER);
        }
        _ => {}
    }
}

/// Keeps the query aside in [`QUERY_HEADER`], where the pages read it (`lambda_http`
/// would put it into a URI it may fail to build); one a client sent itself is dropped.
fn keep_query(headers: &mut HeaderMap, query: Option<String>) {
    headers.remove(QUERY_HEADER);
    let value = query.filter(|q| !q.is_empty());
    if let Some(value) = value.and_then(|q| http::HeaderValue::try_from(q).ok()) {
        headers.insert(QUERY_HEADER, value);
    }
}

/// Decoded parameters as a query.
fn encoded(params: &QueryMap) -> Option<String> {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.extend_pairs(params.iter());
    Some(query.finish())
}

/// Parameters still encoded, as a query.
fn as_sent(params: &QueryMap) -> Option<String> {
    let pairs: Vec<String> = params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    Some(pairs.join("&"))
}

/// What a path keeps as it is: unreserved characters and `/` (RFC 3986 §2.3).
const PATH_KEEPS: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// An absolute path of URI-safe characters: `/oauth/revoke` stays as it is; anything else
/// is percent-encoded (the function only looks at how the path ends).
fn safe_path(path: &mut Option<String>) {
    let Some(p) = path.as_deref() else { return };
    let encoded = utf8_percent_encode(p, PATH_KEEPS).to_string();
    *path = Some(if encoded.starts_with('/') {
        encoded
    } else {
        format!("/{encoded}")
    });
}

/// The `Host` an ALB passed on, kept here once checked to be a host name (and port): the
/// issuer discovery names when none is configured. A client cannot set it itself.
pub const HOST_HEADER: &str = "x-direct-oauth-host";

/// The headers `lambda_http` puts into the URI, which the function does not read; a
/// well-formed `Host` is kept aside as [`HOST_HEADER`].
fn drop_uri_headers(headers: &mut HeaderMap) {
    headers.remove(HOST_HEADER);
    if let Some(host) = headers.remove(http::header::HOST)
        && is_host(host.as_bytes())
    {
        headers.insert(HOST_HEADER, host);
    }
    headers.remove("x-forwarded-proto");
}

/// A DNS name or IPv4 address with an optional port: letters, digits, `-`, `.`, one `:`.
fn is_host(value: &[u8]) -> bool {
    let (name, port) = match value.iter().position(|&b| b == b':') {
        Some(i) => (&value[..i], Some(&value[i + 1..])),
        None => (value, None),
    };
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'));
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.iter().all(u8::is_ascii_digit));
    name_ok && port_ok
}

/// `lambda_http` lets the single-value `Authorization` replace the multi-value ones, which
/// would hide a second credential; dropping the single copy keeps all of them visible.
fn keep_repeated_credentials(headers: &mut HeaderMap, multi: &HeaderMap) {
    if multi.get_all(AUTHORIZATION).iter().count() > 1 {
        headers.remove(AUTHORIZATION);
    }
}

fn fix_body(body: &mut Option<String>, is_base64: &mut bool, headers: &mut HeaderMap) {
    // A client must not be able to set the marker itself.
    headers.remove(BODY_ERROR_HEADER);
    if !*is_base64 {
        return;
    }
    let valid = body
        .as_deref()
        .is_none_or(|b| base64::engine::general_purpose::STANDARD.decode(b).is_ok());
    if !valid {
        *body = None;
        *is_base64 = false;
        headers.insert(
            BODY_ERROR_HEADER,
            "invalid-base64".parse().expect("static value"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::Request;

    fn event(json: &str) -> LambdaRequest {
        serde_json::from_str(json).expect("a valid event")
    }

    fn convert(json: &str) -> Request {
        let mut e = event(json);
        sanitize(&mut e);
        e.into()
    }

    const V2_BAD_BASE64: &str = r#"{"version":"2.0","routeKey":"$default","rawPath":"/oauth/authorizeapp",
        "rawQueryString":"","headers":{"content-type":"application/x-www-form-urlencoded"},
        "requestContext":{"accountId":"1","apiId":"a","domainName":"a.example","domainPrefix":"a",
        "http":{"method":"POST","path":"/oauth/authorizeapp","protocol":"HTTP/1.1","sourceIp":"1.2.3.4","userAgent":"x"},
        "requestId":"r","routeKey":"$default","stage":"$default","time":"t","timeEpoch":0},
        "body":"not base64!!","isBase64Encoded":true}"#;

    #[test]
    fn bad_base64_is_marked_instead_of_panicking() {
        let req = convert(V2_BAD_BASE64);
        assert!(req.headers().contains_key(BODY_ERROR_HEADER));
        assert_eq!(crate::request::read_form(&req).unwrap_err().status(), 400);
    }

    #[test]
    fn clients_cannot_set_the_marker() {
        let json = V2_BAD_BASE64.replace("not base64!!", "YT1i").replace(
            r#""content-type""#,
            &format!(r#""{BODY_ERROR_HEADER}":"x","content-type""#),
        );
        assert!(!convert(&json).headers().contains_key(BODY_ERROR_HEADER));
    }

    #[test]
    fn the_query_is_kept_aside_for_the_pages_and_a_client_s_own_dropped() {
        let json = V2_BAD_BASE64
            .replace("not base64!!", "YT1i")
            .replace(
                r#""rawQueryString":"""#,
                r#""rawQueryString":"client_id=a&state=b%20c""#,
            )
            .replace(
                r#""content-type""#,
                &format!(r#""{QUERY_HEADER}":"client_id=evil","content-type""#),
            );
        let req = convert(&json);
        assert_eq!(crate::request::query(&req), "client_id=a&state=b%20c");
        assert_eq!(req.uri().query(), None, "not in the URI lambda_http builds");
        let none = convert(&json.replace("client_id=a&state=b%20c", ""));
        assert_eq!(
            crate::request::query(&none),
            "",
            "a client's own is never taken"
        );
    }

    #[test]
    fn only_a_well_formed_host_is_kept_aside() {
        assert!(is_host(b"id.example.com") && is_host(b"10.0.0.1:8443"));
        for bad in [
            &b""[..],
            b"exa mple",
            b"a:b:c",
            b"a:",
            b"\"x",
            b"a/b",
            b"[::1]",
        ] {
            assert!(!is_host(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_bad_host_header_is_dropped_instead_of_panicking() {
        let json = V2_BAD_BASE64.replace("not base64!!", "YT1i").replace(
            r#""content-type""#,
            r#""host":"exa mple:x:y","x-forwarded-proto":"ht tp","content-type""#,
        );
        let req = convert(&json);
        assert!(!req.headers().contains_key("host"));
    }

    #[test]
    fn two_credentials_in_a_rest_event_stay_two() {
        let json = r#"{"resource":"/","path":"/oauth/authorizeapp","httpMethod":"POST",
            "headers":{"Authorization":"Basic dTpw"},
            "multiValueHeaders":{"Authorization":["Basic dXNlcm5hbWU6cGFzc3dvcmRoZXJl","Basic dTpw"]},
            "requestContext":{"accountId":"1","resourceId":"r","stage":"prod","requestId":"i",
              "identity":{"sourceIp":"1.2.3.4"},"resourcePath":"/","httpMethod":"POST","apiId":"a"},
            "body":"client_id=x","isBase64Encoded":false}"#;
        let req = convert(json);
        assert_eq!(req.headers().get_all(AUTHORIZATION).iter().count(), 2);
    }
}
