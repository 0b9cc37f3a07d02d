//! The Lambda authorizer's pure core: the token and proof an API Gateway authorizer
//! request presents, and the answer in the shape that request expects; the decision is
//! [`crate::token_check`]'s. Reading the event itself is the glue's job
//! (`crate::lambda::token_authorizer`).
//!
//! HTTP APIs get payload 2.0 "simple" responses (`isAuthorized`: a refusal is API
//! Gateway's 403, which an HTTP API cannot change). REST APIs get an IAM policy for a good
//! token, and `Unauthorized` for every other (API Gateway answers 401, and the API's
//! `UNAUTHORIZED` gateway response adds `WWW-Authenticate: Bearer error="invalid_token"`,
//! as RFC 6750 §3.1 wants for a revoked, expired or unknown token).

use serde::Serialize;

use crate::dpop::{self, Expected, Proof, ProofError};
use crate::token::AccessToken;
use crate::token_check::{Denial, Grant};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventShape {
    /// HTTP API, payload format 2.0, simple responses.
    HttpApi,
    /// REST API, TOKEN authorizer (`authorizationToken`).
    RestToken,
    /// REST API, REQUEST authorizer (`headers`).
    RestRequest,
}

/// What an authorizer event asks, whatever its shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub shape: EventShape,
    /// The `Authorization` value (or the TOKEN authorizer's `authorizationToken`).
    pub authorization: Option<String>,
    /// `methodArn` (REST) or `routeArn` (HTTP API).
    pub resource: String,
    /// What a DPoP proof must match: the request's method and the URL the client
    /// addressed (`None` at a TOKEN authorizer, whose event names neither).
    pub request: Option<ProtectedRequest>,
    /// The `DPoP` header's one value, if any.
    pub proof: Result<Option<String>, ProofError>,
}

/// The request an authorizer event is about, as a DPoP proof names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedRequest {
    pub method: String,
    pub url: String,
}

/// The error message API Gateway turns into a 401.
pub const UNAUTHORIZED: &str = "Unauthorized";

/// How a token was presented.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub token: AccessToken,
    /// `Authorization: DPoP` (RFC 9449 §7.1), rather than `Bearer`.
    pub dpop: bool,
}

/// `Bearer <token>` (RFC 6750 §2.1) or `DPoP <token>` (RFC 9449 §7.1), the scheme
/// case-insensitive, to a token of ours.
pub fn presented(authorization: Option<&str>) -> Result<Presented, Denial> {
    let value = authorization.ok_or(Denial::Malformed)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(Denial::Malformed)?;
    let dpop = scheme.eq_ignore_ascii_case(dpop::SCHEME);
    if !dpop && !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Denial::Malformed);
    }
    let token = AccessToken::parse(token.trim_start()).ok_or(Denial::Malformed)?;
    Ok(Presented { token, dpop })
}

/// A `DPoP` presentation's proof, by every check that needs no store: made for this
/// request, by the holder of this very token (`ath`).
pub fn proof_of(
    check: &Check,
    token: &AccessToken,
    now_secs: u64,
    window_secs: u64,
) -> Result<Proof, ProofError> {
    let proof = check.proof.clone()?.ok_or(ProofError::Missing)?;
    let request = check.request.as_ref().ok_or(ProofError::Missing)?;
    let exposed = token.expose();
    let expected = Expected {
        method: &request.method,
        url: &request.url,
        now_secs,
        window_secs,
        access_token: Some(&exposed),
    };
    dpop::check(&proof, &expected)
}

/// The answer for API Gateway, in the shape the event expects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AuthorizerAnswer {
    /// HTTP API payload 2.0 "simple" response.
    Simple(SimpleAnswer),
    /// REST API (TOKEN or REQUEST authorizer): an IAM policy.
    Policy(PolicyAnswer),
}

/// `{"isAuthorized": …, "context": {…}}`; a denial carries no context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimpleAnswer {
    pub is_authorized: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<GrantContext>,
}

/// An IAM policy for `execute-api:Invoke` on the one resource asked about.
///
/// Written here rather than taken from `aws_lambda_events`, whose response types serialize
/// a denial's absent context and usage key as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyAnswer {
    pub principal_id: String,
    pub policy_document: PolicyDocument,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<GrantContext>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDocument {
    pub version: &'static str,
    pub statement: Vec<PolicyStatement>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyStatement {
    pub action: &'static str,
    pub effect: &'static str,
    pub resource: String,
}

/// What the backend behind API Gateway learns of an accepted token (string values only:
/// API Gateway's context takes no arrays).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GrantContext {
    pub username: String,
    pub client_id: String,
    /// Space-separated.
    pub scopes: String,
    pub token_id: String,
}

/// The answer for API Gateway; `Err(UNAUTHORIZED)` for a REST API's 401.
pub fn respond(
    check: &Check,
    decision: &Result<Grant, Denial>,
) -> Result<AuthorizerAnswer, &'static str> {
    let context = decision.as_ref().ok().map(|g| GrantContext {
        username: g.username.clone(),
        client_id: g.client_id.clone(),
        scopes: g.scopes.join(" "),
        token_id: g.token_id.clone(),
    });
    match check.shape {
        EventShape::HttpApi => Ok(AuthorizerAnswer::Simple(SimpleAnswer {
            is_authorized: context.is_some(),
            context,
        })),
        EventShape::RestToken | EventShape::RestRequest => {
            // A deny would be a 403 without a challenge: every refusal is the 401.
            let Ok(grant) = decision else {
                return Err(UNAUTHORIZED);
            };
            Ok(AuthorizerAnswer::Policy(PolicyAnswer {
                principal_id: grant.username.clone(),
                policy_document: PolicyDocument {
                    version: "2012-10-17",
                    statement: vec![PolicyStatement {
                        action: "execute-api:Invoke",
                        effect: "Allow",
                        resource: check.resource.clone(),
                    }],
                },
                context,
            }))
        }
    }
}

#[cfg(test)]
mod tests;
