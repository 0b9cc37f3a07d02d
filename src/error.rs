//! Every way a request can fail, and the one place where each maps to its status,
//! OAuth error code and headers (contract: "Checks, in this order").

use thiserror::Error;

use crate::dpop::ProofError;

/// Failures answered with a JSON body and never with a redirect (checks 1-9, 12, outages).
///
/// Descriptions are written for the client and never contain a password, a token or the
/// Authorization header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApiError {
    /// Check 1.
    #[error("only POST is allowed")]
    MethodNotAllowed,
    /// Check 1 of an endpoint that answers another method (discovery: GET).
    #[error("only {0} is allowed")]
    MethodNotAllowedHere(&'static str),
    /// Check 2: not `application/x-www-form-urlencoded`.
    #[error("the body must be application/x-www-form-urlencoded")]
    UnsupportedMediaType,
    /// Check 2: over the body cap.
    #[error("the body is larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Checks 2, 3, 5, 6: malformed or incomplete request, unknown client, bad redirect URI.
    #[error("{0}")]
    InvalidRequest(String),
    /// Check 4: the client is not on the direct-approval whitelist.
    #[error("this client is not allowed to use direct approval")]
    UnauthorizedClient,
    /// Check 7: no usable Basic credentials.
    #[error("Basic credentials are missing or malformed")]
    MissingCredentials,
    /// Check 8: the username is in a back-off window.
    #[error("too many failed logins; retry later")]
    BackOff { retry_after_secs: u64 },
    /// Check 9: unknown user, disabled user or wrong password, indistinguishably.
    #[error("invalid username or password")]
    LoginFailed,
    /// SSM or DynamoDB could not be reached, or throttled us; the client may retry.
    #[error("the service is temporarily unavailable; retry later")]
    Unavailable { retry_after_secs: u64 },
    /// Something that retrying will not fix (e.g. token ids colliding twice).
    #[error("the server could not complete the request")]
    ServerError,
    /// Token endpoint: the code is unknown, used, expired, or not this client's, verifier's
    /// or redirect URI's (RFC 6749 §5.2).
    #[error("{0}")]
    InvalidGrant(String),
    /// Token and introspection endpoints: the client is unknown or its secret is wrong.
    /// `basic`: it authenticated with the Authorization header, so the answer challenges.
    #[error("client authentication failed")]
    InvalidClient { basic: bool },
    /// Token endpoint: a grant type it does not take (discovery lists those it does).
    #[error("this grant_type is not supported")]
    UnsupportedGrantType,
    /// Token endpoint: a refresh asking for scopes its grant did not give (RFC 6749 §6);
    /// device authorization: scopes not the application's.
    #[error("{0}")]
    InvalidScope(String),
    /// An application not registered for this grant (RFC 6749 §5.2 `unauthorized_client`).
    #[error("this application is not registered for the {0}")]
    GrantNotAllowed(&'static str),
    /// Device grant polls (RFC 8628 §3.5): the person has not decided yet.
    #[error("the person has not approved the request yet")]
    AuthorizationPending,
    /// Polled sooner than the interval: it grows by 5 seconds.
    #[error("polled too soon: wait the interval, now 5 seconds longer")]
    SlowDown,
    /// The person denied the request.
    #[error("the person denied the request")]
    DeviceDenied,
    /// The device code expired before it was approved.
    #[error("the device code expired; start again")]
    ExpiredToken,
    /// Discovery at a path-inserted location (RFC 8414 §3.1) that is not this issuer's.
    #[error("no authorization server metadata at this path")]
    NoMetadataHere,
    /// RFC 9449 §5: the DPoP proof is refused, or missing where the application requires
    /// one.
    #[error("{0}")]
    InvalidDpopProof(ProofError),
    /// RFC 9449 §8: the proof must carry the server's nonce; `nonce` is a fresh one, sent
    /// in `DPoP-Nonce`.
    #[error("the DPoP proof must carry the server's current nonce")]
    UseDpopNonce { nonce: String },
}

impl ApiError {
    pub fn invalid_request(description: impl Into<String>) -> Self {
        ApiError::InvalidRequest(description.into())
    }

    pub fn status(&self) -> u16 {
        match self {
            ApiError::MethodNotAllowed | ApiError::MethodNotAllowedHere(_) => 405,
            ApiError::UnsupportedMediaType => 415,
            ApiError::PayloadTooLarge { .. } => 413,
            ApiError::InvalidRequest(_) => 400,
            ApiError::UnauthorizedClient => 403,
            ApiError::MissingCredentials | ApiError::LoginFailed => 401,
            ApiError::BackOff { .. } => 429,
            ApiError::Unavailable { .. } => 503,
            ApiError::ServerError => 500,
            ApiError::InvalidGrant(_)
            | ApiError::UnsupportedGrantType
            | ApiError::InvalidScope(_)
            | ApiError::GrantNotAllowed(_)
            | ApiError::AuthorizationPending
            | ApiError::SlowDown
            | ApiError::DeviceDenied
            | ApiError::ExpiredToken => 400,
            // 401 only with a challenge to send (RFC 7235 §3.1): for a client that used the
            // Authorization header; one that authenticated in the form gets 400 (§5.2).
            ApiError::InvalidClient { basic: true } => 401,
            ApiError::InvalidClient { basic: false } => 400,
            ApiError::NoMetadataHere => 404,
            ApiError::InvalidDpopProof(_) | ApiError::UseDpopNonce { .. } => 400,
        }
    }

    /// The `error` member of the JSON body (RFC 6749 §4.1.2.1 / §5.2 vocabulary).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MethodNotAllowed
            | ApiError::MethodNotAllowedHere(_)
            | ApiError::UnsupportedMediaType
            | ApiError::PayloadTooLarge { .. }
            | ApiError::InvalidRequest(_)
            | ApiError::NoMetadataHere => "invalid_request",
            ApiError::UnauthorizedClient => "unauthorized_client",
            ApiError::MissingCredentials | ApiError::LoginFailed => "access_denied",
            ApiError::BackOff { .. } | ApiError::Unavailable { .. } => "temporarily_unavailable",
            ApiError::ServerError => "server_error",
            ApiError::InvalidGrant(_) => "invalid_grant",
            ApiError::InvalidClient { .. } => "invalid_client",
            ApiError::UnsupportedGrantType => "unsupported_grant_type",
            ApiError::InvalidScope(_) => "invalid_scope",
            ApiError::GrantNotAllowed(_) => "unauthorized_client",
            ApiError::AuthorizationPending => "authorization_pending",
            ApiError::SlowDown => "slow_down",
            ApiError::DeviceDenied => "access_denied",
            ApiError::ExpiredToken => "expired_token",
            ApiError::InvalidDpopProof(_) => "invalid_dpop_proof",
            ApiError::UseDpopNonce { .. } => "use_dpop_nonce",
        }
    }

    /// Seconds for a `Retry-After` header, where the client should retry.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::BackOff { retry_after_secs } | ApiError::Unavailable { retry_after_secs } => {
                Some(*retry_after_secs)
            }
            _ => None,
        }
    }

    /// Whether the response carries `WWW-Authenticate: Basic` (RFC 7235 §3.1 for 401; a
    /// client that authenticated in the form is not challenged, RFC 6749 §5.2).
    pub fn challenges(&self) -> bool {
        // `invalid_client` is 401 only for a client that used the header (see `status`).
        self.status() == 401
    }
}

/// Failures that redirect to the validated redirect URI with the error in the fragment
/// (checks 10-11, RFC 6749 §4.2.2.1).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RedirectError {
    /// `response_type=code` without PKCE (S256).
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    UnsupportedResponseType(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("{0}")]
    AccessDenied(String),
}

impl RedirectError {
    pub fn code(&self) -> &'static str {
        match self {
            RedirectError::InvalidRequest(_) => "invalid_request",
            RedirectError::UnsupportedResponseType(_) => "unsupported_response_type",
            RedirectError::InvalidScope(_) => "invalid_scope",
            RedirectError::AccessDenied(_) => "access_denied",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_contract_table() {
        let cases = [
            (ApiError::MethodNotAllowed, 405, "invalid_request"),
            (ApiError::UnsupportedMediaType, 415, "invalid_request"),
            (
                ApiError::PayloadTooLarge { limit: 1 },
                413,
                "invalid_request",
            ),
            (ApiError::invalid_request("x"), 400, "invalid_request"),
            (ApiError::UnauthorizedClient, 403, "unauthorized_client"),
            (ApiError::MissingCredentials, 401, "access_denied"),
            (
                ApiError::BackOff {
                    retry_after_secs: 1,
                },
                429,
                "temporarily_unavailable",
            ),
            (ApiError::LoginFailed, 401, "access_denied"),
            (
                ApiError::Unavailable {
                    retry_after_secs: 1,
                },
                503,
                "temporarily_unavailable",
            ),
            (ApiError::ServerError, 500, "server_error"),
            (ApiError::InvalidGrant("x".into()), 400, "invalid_grant"),
            (
                ApiError::InvalidClient { basic: true },
                401,
                "invalid_client",
            ),
            (
                ApiError::UnsupportedGrantType,
                400,
                "unsupported_grant_type",
            ),
            (
                ApiError::InvalidDpopProof(ProofError::Replayed),
                400,
                "invalid_dpop_proof",
            ),
            (
                ApiError::UseDpopNonce { nonce: "n".into() },
                400,
                "use_dpop_nonce",
            ),
        ];
        for (err, status, code) in cases {
            assert_eq!(err.status(), status, "{err:?}");
            assert_eq!(err.code(), code, "{err:?}");
        }
    }

    #[test]
    fn only_back_off_and_outages_say_when_to_retry() {
        assert_eq!(
            ApiError::BackOff {
                retry_after_secs: 3
            }
            .retry_after(),
            Some(3)
        );
        assert_eq!(
            ApiError::Unavailable {
                retry_after_secs: 2
            }
            .retry_after(),
            Some(2)
        );
        assert_eq!(ApiError::LoginFailed.retry_after(), None);
        assert!(ApiError::LoginFailed.challenges());
        assert!(ApiError::MissingCredentials.challenges());
        assert!(!ApiError::UnauthorizedClient.challenges());
        assert!(ApiError::InvalidClient { basic: true }.challenges());
        assert!(!ApiError::InvalidClient { basic: false }.challenges());
    }
}
