//! `make bench`'s floor for a token check: a Lambda authorizer that verifies an ES256 JWT
//! locally, with no read at all, and answers in token-authorizer's shape for the same event
//! (HTTP API "simple" answer; REST TOKEN / REQUEST policy). What it gives up is what the
//! project sells: a revoked token stays good here until it expires.
//!
//! The public key is a JWK in `JWT_PUBLIC_JWK`; the bench makes the key pair and signs the
//! tokens (claims `sub`, `client_id`, `scope`, `jti`, `exp`).

use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Claims {
    sub: String,
    client_id: String,
    scope: String,
    jti: String,
}

/// The bearer token of an HTTP API / REST REQUEST event's header, or a REST TOKEN event's.
fn bearer(event: &Value) -> Option<&str> {
    let header = event
        .pointer("/headers/authorization")
        .or_else(|| event.get("authorizationToken"))?
        .as_str()?;
    header.strip_prefix("Bearer ")
}

fn answer(event: &Value, claims: Option<Claims>) -> Result<Value, Error> {
    let context = claims.as_ref().map(|c| {
        json!({"username": c.sub, "client_id": c.client_id, "scopes": c.scope, "token_id": c.jti})
    });
    if event.get("version").and_then(Value::as_str) == Some("2.0") {
        let mut simple = json!({"isAuthorized": context.is_some()});
        if let Some(context) = context {
            simple["context"] = context;
        }
        return Ok(simple);
    }
    // A REST authorizer says 401 with this error, as token-authorizer does.
    let (Some(claims), Some(context)) = (claims, context) else {
        return Err(Error::from("Unauthorized"));
    };
    let resource = event
        .get("methodArn")
        .or_else(|| event.get("routeArn"))
        .cloned()
        .unwrap_or(Value::Null);
    Ok(json!({
        "principalId": claims.sub,
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": resource}
        ]},
        "context": context,
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let jwk: Jwk = serde_json::from_str(&std::env::var("JWT_PUBLIC_JWK")?)?;
    let key = DecodingKey::from_jwk(&jwk)?;
    let mut validation = Validation::new(Algorithm::ES256);
    validation.validate_aud = false;
    let (key, validation) = (&key, &validation);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let payload = event.payload;
        let claims = bearer(&payload)
            .and_then(|token| jsonwebtoken::decode::<Claims>(token, key, validation).ok())
            .map(|data| data.claims);
        answer(&payload, claims)
    }))
    .await
}
