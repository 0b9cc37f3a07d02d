//! SSM Parameter Store: the whitelist source, and the operator's edits of it.

use std::time::Duration;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::config::http::HttpResponse;
use aws_sdk_ssm::config::retry::RetryConfig;
use aws_sdk_ssm::config::timeout::TimeoutConfig;
use aws_sdk_ssm::error::{DisplayErrorContext, SdkError};
use aws_sdk_ssm::operation::get_parameter::GetParameterError;
use aws_sdk_ssm::types::ParameterType;

use crate::clock::Clock;
use crate::whitelist::{
    self, EDIT_PATIENCE, EditClaims, SourceError, WhitelistEditor, WhitelistSource, edited,
};

/// SSM refuses empty values, so an empty whitelist is stored as a lone comma.
pub const EMPTY_LIST_VALUE: &str = ",";

#[derive(Debug, Clone)]
pub struct SsmWhitelist {
    client: Client,
    name: String,
    /// The KMS key a SecureString whitelist is encrypted with: what a write must name, or
    /// SSM would re-encrypt the list under the account's default `aws/ssm` key.
    kms_key: Option<String>,
}

fn source_error(e: impl std::error::Error) -> SourceError {
    SourceError::Unavailable(DisplayErrorContext(e).to_string())
}

/// Stale service is for what passes by itself: throttling, timeouts, the network, SSM's
/// own 5xx. Anything else SSM says (access denied, a KMS key it cannot use, ...) is an
/// operator's doing and fails closed.
fn classify(e: SdkError<GetParameterError, HttpResponse>) -> SourceError {
    let passing = match &e {
        SdkError::ServiceError(s) => {
            let code = s.err().meta().code().unwrap_or_default();
            s.raw().status().as_u16() >= 500
                || matches!(
                    code,
                    "ThrottlingException" | "TooManyRequestsException" | "InternalServerError"
                )
        }
        _ => true,
    };
    let text = DisplayErrorContext(&e).to_string();
    if passing {
        SourceError::Unavailable(text)
    } else {
        SourceError::Misconfigured(text)
    }
}

impl SsmWhitelist {
    pub fn new(client: Client, name: impl Into<String>) -> Self {
        SsmWhitelist {
            client,
            name: name.into(),
            kms_key: None,
        }
    }

    /// The key to encrypt with when the CLI writes a SecureString whitelist.
    pub fn with_kms_key(mut self, key: Option<String>) -> Self {
        self.kms_key = key;
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value and type, or `None` when the parameter does not exist.
    async fn read(&self) -> Result<Option<(String, ParameterType)>, SourceError> {
        self.read_within(None).await
    }

    /// [`Self::read`]; with a budget, throttling is retried with jittered exponential
    /// backoff until the budget is spent (see [`herd_retries`]).
    async fn read_within(
        &self,
        budget: Option<Duration>,
    ) -> Result<Option<(String, ParameterType)>, SourceError> {
        let mut request = self
            .client
            .get_parameter()
            .name(&self.name)
            .with_decryption(true)
            .customize();
        if let Some(budget) = budget {
            request = request.config_override(herd_retries(budget));
        }
        match request.send().await {
            Ok(out) => Ok(out.parameter.map(|p| {
                (
                    p.value.unwrap_or_default(),
                    p.r#type.unwrap_or(ParameterType::StringList),
                )
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// Creates the parameter with an empty list unless it exists. Returns whether it created.
    pub async fn ensure_exists(&self) -> Result<bool, SourceError> {
        if self.read().await?.is_some() {
            return Ok(false);
        }
        self.write(&[], ParameterType::StringList).await?;
        Ok(true)
    }

    /// The value, type and version, or `None` when the parameter does not exist.
    async fn read_versioned(&self) -> Result<Option<(String, ParameterType, i64)>, SourceError> {
        match self
            .client
            .get_parameter()
            .name(&self.name)
            .with_decryption(true)
            .send()
            .await
        {
            Ok(out) => Ok(out.parameter.map(|p| {
                (
                    p.value.unwrap_or_default(),
                    p.r#type.unwrap_or(ParameterType::StringList),
                    p.version,
                )
            })),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_parameter_not_found()) =>
            {
                Ok(None)
            }
            Err(e) => Err(classify(e)),
        }
    }

    /// Writes the list; returns the parameter's new version.
    async fn write(&self, ids: &[String], kind: ParameterType) -> Result<i64, SourceError> {
        let value = if ids.is_empty() {
            EMPTY_LIST_VALUE.to_string()
        } else {
            ids.join(",")
        };
        let key = match (&kind, &self.kms_key) {
            (ParameterType::SecureString, None) => {
                return Err(SourceError::Misconfigured(
                    "the whitelist is a SecureString: name its KMS key (the stack's \
                     WhitelistKmsKeyArn, or DIRECT_OAUTH_WHITELIST_KMS_KEY) so the edit keeps it"
                        .into(),
                ));
            }
            (ParameterType::SecureString, Some(key)) => Some(key.clone()),
            _ => None,
        };
        let out = self
            .client
            .put_parameter()
            .name(&self.name)
            .value(value)
            .r#type(kind)
            .set_key_id(key)
            .overwrite(true)
            .description("Client ids allowed to use direct OAuth approval (direct-oauth)")
            .send()
            .await
            .map_err(source_error)?;
        Ok(out.version)
    }
}

/// The claims make up for what SSM lacks: `PutParameter` cannot be conditional on the
/// version read.
impl WhitelistEditor for SsmWhitelist {
    /// The whitelisted client ids, sorted.
    async fn list(&self) -> Result<Vec<String>, SourceError> {
        let value = self.read().await?.map(|(v, _)| v).unwrap_or_default();
        let mut ids: Vec<String> = whitelist::parse(&value).into_iter().collect();
        ids.sort();
        Ok(ids)
    }

    /// Keeps the parameter's type (a SecureString stays one); a missing parameter is read
    /// as an empty list, and written.
    async fn edit(
        &self,
        client_id: &str,
        add: bool,
        claims: &impl EditClaims,
        clock: &impl Clock,
    ) -> Result<bool, SourceError> {
        let mut pause = Duration::from_millis(50);
        let deadline = clock.now_ms() + EDIT_PATIENCE.as_millis() as u64;
        loop {
            let (value, kind, version) = self
                .read_versioned()
                .await?
                .unwrap_or_else(|| (String::new(), ParameterType::StringList, 0));
            let Some(ids) = edited(&value, client_id, add) else {
                return Ok(false);
            };
            if claims.claim_next(version, clock.now_ms()).await? {
                let written = self.write(&ids, kind).await?;
                if written != version + 1 {
                    // Someone wrote the parameter without a claim (the console, another
                    // tool) between the read and this write: theirs may be undone.
                    return Err(SourceError::Misconfigured(format!(
                        "the whitelist was written outside direct-oauth-admin during this edit \
                         (version {written}, expected {}): check `whitelist list`",
                        version + 1
                    )));
                }
                return Ok(true);
            }
            // Another edit holds the next version: read what it wrote, after a pause.
            if clock.now_ms() > deadline {
                return Err(SourceError::Unavailable(
                    "another whitelist edit kept the parameter claimed: try again".into(),
                ));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
        }
    }
}

/// A burst of new instances all read the parameter at once, and Parameter Store serves
/// 40 `GetParameter`s a second by default: the rest are throttled. Each throttled read is
/// retried after a random wait of up to 100 ms × 2ⁿ (full jitter, at most 2 s), which
/// spreads a burst over the seconds the quota needs, until `budget` is spent.
fn herd_retries(budget: Duration) -> aws_sdk_ssm::config::Builder {
    aws_sdk_ssm::config::Builder::default()
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(HERD_ATTEMPTS)
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_secs(2)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(budget)
                .build(),
        )
}

/// Attempts within a budget: enough that the budget, not the count, ends the retries. The
/// SDK waits random × min(2 s, 100 ms × 2^n) between attempts, about 1 s each once capped:
/// 12 attempts spent about 7.5 s of a 10 s budget and gave up on a herd that 3 s of
/// throttling would have let through; 40 always outlast the budget.
const HERD_ATTEMPTS: u32 = 40;

impl WhitelistSource for SsmWhitelist {
    async fn fetch(&self) -> Result<String, SourceError> {
        self.fetch_within(crate::whitelist::DEFAULT_FETCH_BUDGET)
            .await
    }

    async fn fetch_within(&self, budget: Duration) -> Result<String, SourceError> {
        match self.read_within(Some(budget)).await? {
            Some((value, _)) => Ok(value),
            // A missing parameter is a misconfiguration, not an empty list: fail closed.
            None => Err(SourceError::Misconfigured(format!(
                "parameter {} does not exist",
                self.name
            ))),
        }
    }
}
