//! The Lambda authorizer's pure core: read the bearer token from an API Gateway authorizer
//! event, decide from the one token record, and answer in the shape that event expects.
//!
//! HTTP APIs get payload 2.0 "simple" responses (`isAuthorized`); REST APIs get an IAM
//! policy. A missing or malformed token is `Unauthorized` (API Gateway answers 401); a
//! well-formed token that is not good is a deny (403).

use serde_json::{Value, json};

use crate::store::TokenRecord;
use crate::token::AccessToken;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Door {
    /// HTTP API, payload format 2.0, simple responses.
    HttpApi,
    /// REST API, TOKEN authorizer (`authorizationToken`).
    RestToken,
    /// REST API, REQUEST authorizer (`headers`).
    RestRequest,
}

/// What an authorizer event asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub door: Door,
    /// The `Authorization` value (or the TOKEN authorizer's `authorizationToken`).
    pub authorization: Option<String>,
    /// `methodArn` (REST) or `routeArn` (HTTP API).
    pub resource: String,
}

/// Why a token was not accepted. Only the variant is logged, never the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    Malformed,
    Unknown,
    WrongSecret,
    Expired,
    Revoked,
    UserDisabled,
}

impl Denial {
    pub fn reason(self) -> &'static str {
        match self {
            Denial::Malformed => "malformed",
            Denial::Unknown => "unknown_token",
            Denial::WrongSecret => "wrong_secret",
            Denial::Expired => "expired",
            Denial::Revoked => "revoked",
            Denial::UserDisabled => "user_disabled",
        }
    }
}

/// What the backend learns about an accepted token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub username: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub token_id: String,
}

/// The error message API Gateway turns into a 401.
pub const UNAUTHORIZED: &str = "Unauthorized";

/// Reads an authorizer event; `None` when it is none of the three shapes.
pub fn parse_event(event: &Value) -> Option<Check> {
    let kind = event.get("type").and_then(Value::as_str)?;
    let header = |headers: Option<&Value>| -> Option<String> {
        let headers = headers?.as_object()?;
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_string)
    };
    let text = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_string);
    match (kind, event.get("version").and_then(Value::as_str)) {
        ("REQUEST", Some("2.0")) => Some(Check {
            door: Door::HttpApi,
            authorization: header(event.get("headers")),
            resource: text("routeArn").unwrap_or_default(),
        }),
        ("TOKEN", _) => Some(Check {
            door: Door::RestToken,
            authorization: text("authorizationToken"),
            resource: text("methodArn")?,
        }),
        ("REQUEST", _) => Some(Check {
            door: Door::RestRequest,
            authorization: header(event.get("headers")),
            resource: text("methodArn")?,
        }),
        _ => None,
    }
}

/// `Bearer <token>` (scheme case-insensitive, RFC 6750 §2.1) to a token of ours.
pub fn bearer(authorization: Option<&str>) -> Result<AccessToken, Denial> {
    let value = authorization.ok_or(Denial::Malformed)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(Denial::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Denial::Malformed);
    }
    AccessToken::parse(token.trim_start()).ok_or(Denial::Malformed)
}

/// The decision, from the presented token and its stored record. Expiry is checked here
/// because DynamoDB's TTL deletes expired items only eventually.
pub fn decide(
    token: &AccessToken,
    record: Option<&TokenRecord>,
    now_secs: u64,
) -> Result<Grant, Denial> {
    let record = record.ok_or(Denial::Unknown)?;
    if !token.secret_matches(&record.secret_hash) {
        return Err(Denial::WrongSecret);
    }
    if record.revoked_at.is_some() {
        return Err(Denial::Revoked);
    }
    if record.user_disabled {
        return Err(Denial::UserDisabled);
    }
    if record.expires_at <= now_secs {
        return Err(Denial::Expired);
    }
    Ok(Grant {
        username: record.username.clone(),
        client_id: record.client_id.clone(),
        scopes: record.scopes.clone(),
        token_id: record.token_id.clone(),
    })
}

/// The answer for API Gateway; `Err(UNAUTHORIZED)` for a REST API's 401.
pub fn respond(check: &Check, decision: &Result<Grant, Denial>) -> Result<Value, &'static str> {
    let context = decision.as_ref().ok().map(|g| {
        json!({
            "username": g.username,
            "client_id": g.client_id,
            "scopes": g.scopes.join(" "),
            "token_id": g.token_id,
        })
    });
    match check.door {
        Door::HttpApi => Ok(match context {
            Some(context) => json!({ "isAuthorized": true, "context": context }),
            None => json!({ "isAuthorized": false }),
        }),
        Door::RestToken | Door::RestRequest => {
            if decision == &Err(Denial::Malformed) {
                return Err(UNAUTHORIZED);
            }
            let (principal, effect) = match decision {
                Ok(g) => (g.username.as_str(), "Allow"),
                Err(_) => ("anonymous", "Deny"),
            };
            let mut answer = json!({
                "principalId": principal,
                "policyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Action": "execute-api:Invoke",
                        "Effect": effect,
                        "Resource": check.resource,
                    }],
                },
            });
            if let Some(context) = context {
                answer["context"] = context;
            }
            Ok(answer)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    fn record(token: &AccessToken) -> TokenRecord {
        TokenRecord {
            token_id: token.id().to_string(),
            secret_hash: token.secret_hash(),
            username: "alice".into(),
            client_id: "cli".into(),
            scopes: vec!["repo:read".into(), "org:admin".into()],
            issued_at: 100,
            expires_at: 1_000,
            revoked_at: None,
            user_disabled: false,
        }
    }

    #[test]
    fn parses_the_three_event_shapes() {
        let v2 = json!({"version": "2.0", "type": "REQUEST", "routeArn": "arn:r",
                        "headers": {"authorization": "Bearer x"}});
        assert_eq!(parse_event(&v2).unwrap().door, Door::HttpApi);
        assert_eq!(
            parse_event(&v2).unwrap().authorization.as_deref(),
            Some("Bearer x")
        );
        let token =
            json!({"type": "TOKEN", "authorizationToken": "Bearer y", "methodArn": "arn:m"});
        let c = parse_event(&token).unwrap();
        assert_eq!((c.door, c.resource.as_str()), (Door::RestToken, "arn:m"));
        let request = json!({"type": "REQUEST", "methodArn": "arn:m", "headers": {"Authorization": "Bearer z"}});
        let c = parse_event(&request).unwrap();
        assert_eq!(
            (c.door, c.authorization.as_deref()),
            (Door::RestRequest, Some("Bearer z"))
        );
        assert!(parse_event(&json!({"type": "OTHER"})).is_none());
        assert!(parse_event(&json!({})).is_none());
    }

    #[test]
    fn bearer_needs_the_scheme_and_one_of_our_tokens() {
        let t = AccessToken::generate(&OsRandom).unwrap().expose();
        assert!(bearer(Some(&format!("Bearer {t}"))).is_ok());
        assert!(bearer(Some(&format!("bearer  {t}"))).is_ok());
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
                bearer(bad.as_deref()).unwrap_err(),
                Denial::Malformed,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn decides_every_outcome() {
        let t = AccessToken::generate(&OsRandom).unwrap();
        let good = record(&t);
        assert_eq!(decide(&t, Some(&good), 999).unwrap().username, "alice");
        assert_eq!(decide(&t, None, 0), Err(Denial::Unknown));
        let other = AccessToken::generate(&OsRandom).unwrap();
        let mut wrong = good.clone();
        wrong.secret_hash = other.secret_hash();
        assert_eq!(decide(&t, Some(&wrong), 0), Err(Denial::WrongSecret));
        assert_eq!(decide(&t, Some(&good), 1_000), Err(Denial::Expired));
        let mut revoked = good.clone();
        revoked.revoked_at = Some(500);
        assert_eq!(decide(&t, Some(&revoked), 600), Err(Denial::Revoked));
        let mut disabled = good.clone();
        disabled.user_disabled = true;
        assert_eq!(decide(&t, Some(&disabled), 600), Err(Denial::UserDisabled));
    }

    #[test]
    fn answers_in_the_shape_of_the_event() {
        let t = AccessToken::generate(&OsRandom).unwrap();
        let grant = decide(&t, Some(&record(&t)), 0);
        let v2 = Check {
            door: Door::HttpApi,
            authorization: None,
            resource: "arn:r".into(),
        };
        let ok = respond(&v2, &grant).unwrap();
        assert_eq!(ok["isAuthorized"], true);
        assert_eq!(ok["context"]["scopes"], "repo:read org:admin");
        assert_eq!(
            respond(&v2, &Err(Denial::Malformed)).unwrap(),
            json!({"isAuthorized": false})
        );

        let rest = Check {
            door: Door::RestToken,
            authorization: None,
            resource: "arn:m".into(),
        };
        let ok = respond(&rest, &grant).unwrap();
        assert_eq!(ok["principalId"], "alice");
        assert_eq!(ok["policyDocument"]["Statement"][0]["Effect"], "Allow");
        assert_eq!(ok["policyDocument"]["Statement"][0]["Resource"], "arn:m");
        assert_eq!(ok["context"]["client_id"], "cli");
        let deny = respond(&rest, &Err(Denial::Revoked)).unwrap();
        assert_eq!(deny["policyDocument"]["Statement"][0]["Effect"], "Deny");
        assert!(deny.get("context").is_none());
        assert_eq!(respond(&rest, &Err(Denial::Malformed)), Err(UNAUTHORIZED));
    }
}
