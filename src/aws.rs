//! Adapter support: one AWS SDK configuration per process, shared by every client, and a
//! counter of the round trips each client makes. Only the adapters, the Lambda glue and the
//! admin CLI use this module.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_ssm::error::ProvideErrorMetadata;
use aws_sdk_ssm::operation::get_parameter::GetParameterError;

use crate::config::DirectoryChoice;
use crate::directory::cognito::CognitoDirectory;
use crate::directory::ldap::LdapDirectory;
use crate::directory::ldap::password::SsmBindPassword;
use crate::directory::{Directory, DirectoryError, Standing, Verdict};

/// Loads region, credentials and endpoint (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_<SERVICE>`)
/// from the environment, with short timeouts: a Lambda answering 503 quickly beats one that
/// waits for its own timeout.
pub async fn sdk_config() -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    // Lambda always sets these: taking them directly skips building the default
    // credentials chain (profile files, SSO, web identity, container and IMDS providers).
    if std::env::var_os("AWS_ACCESS_KEY_ID").is_some() {
        loader = loader.credentials_provider(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        );
    }
    if let Some(region) = std::env::var("AWS_REGION").ok().filter(|r| !r.is_empty()) {
        loader = loader.region(aws_config::Region::new(region));
    }
    loader
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .load()
        .await
}

/// Counts HTTP attempts (retries included) of one client: the round trips a request costs.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<AtomicU32>);

impl CallCounter {
    /// The count so far, resetting it to zero.
    pub fn take(&self) -> u32 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// The wall time during which at least one AWS operation of any client was under way:
/// what a request spent waiting on AWS, however its calls overlapped.
#[derive(Debug, Clone, Default)]
pub struct AwsTime(Arc<Mutex<Span>>);

#[derive(Debug, Default)]
struct Span {
    in_flight: u32,
    since: Option<Instant>,
    total: Duration,
}

impl AwsTime {
    /// The time so far, starting afresh. An operation whose future was dropped (a branch
    /// cancelled by an early answer) never reports its end; it counts until this call.
    pub fn take(&self) -> Duration {
        let mut span = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let open = span.since.take().map_or(Duration::ZERO, |t| t.elapsed());
        let total = std::mem::take(&mut span.total) + open;
        span.in_flight = 0;
        total
    }
}

impl Intercept for AwsTime {
    fn name(&self) -> &'static str {
        "AwsTime"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut span = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if span.in_flight == 0 {
            span.since = Some(Instant::now());
        }
        span.in_flight += 1;
        Ok(())
    }

    fn read_after_execution(
        &self,
        _context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut span = self.0.lock().unwrap_or_else(|e| e.into_inner());
        span.in_flight = span.in_flight.saturating_sub(1);
        if span.in_flight == 0
            && let Some(since) = span.since.take()
        {
            span.total += since.elapsed();
        }
        Ok(())
    }
}

/// Counts SSM attempts answered `ThrottlingException` (the herd's tell, see
/// docs/performance.md): each is retried, so [`CallCounter`] alone cannot tell them apart.
#[derive(Debug, Clone, Default)]
pub struct ThrottleCounter(Arc<AtomicU32>);

impl ThrottleCounter {
    /// The count so far, resetting it to zero.
    pub fn take(&self) -> u32 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

impl Intercept for ThrottleCounter {
    fn name(&self) -> &'static str {
        "ThrottleCounter"
    }

    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let throttled = match context.output_or_error() {
            Some(Err(err)) => err
                .as_operation_error()
                .and_then(|e| e.downcast_ref::<GetParameterError>())
                .is_some_and(|e| e.code() == Some("ThrottlingException")),
            _ => false,
        };
        if throttled {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Round-trip counters for the two services the function calls, and the time spent on them.
#[derive(Debug, Clone, Default)]
pub struct AwsCalls {
    pub dynamodb: CallCounter,
    pub ssm: CallCounter,
    pub ssm_throttles: ThrottleCounter,
    pub time: AwsTime,
}

impl AwsCalls {
    /// Starts counting afresh (at the start of each request).
    pub fn reset(&self) {
        self.dynamodb.take();
        self.ssm.take();
        self.ssm_throttles.take();
        self.time.take();
    }
}

pub fn dynamodb(config: &SdkConfig, calls: &AwsCalls) -> aws_sdk_dynamodb::Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(config)
        .interceptor(calls.dynamodb.clone())
        .interceptor(calls.time.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(conf)
}

pub fn ssm(config: &SdkConfig, calls: &AwsCalls) -> aws_sdk_ssm::Client {
    let conf = aws_sdk_ssm::config::Builder::from(config)
        .interceptor(calls.ssm.clone())
        .interceptor(calls.ssm_throttles.clone())
        .interceptor(calls.time.clone())
        .build();
    aws_sdk_ssm::Client::from_conf(conf)
}

/// The user pool's client (a Cognito directory): its time counts as AWS time.
pub fn cognito(config: &SdkConfig, calls: &AwsCalls) -> aws_sdk_cognitoidentityprovider::Client {
    let conf = aws_sdk_cognitoidentityprovider::config::Builder::from(config)
        .interceptor(calls.time.clone())
        .build();
    aws_sdk_cognitoidentityprovider::Client::from_conf(conf)
}

/// The directories a deployment can choose (`None`: the users table): the glue's choice,
/// so the port names no adapter.
pub enum AnyDirectory {
    Ldap(Box<LdapDirectory<SsmBindPassword>>),
    Cognito(CognitoDirectory),
}

impl Directory for AnyDirectory {
    fn kind(&self) -> &'static str {
        match self {
            AnyDirectory::Ldap(d) => d.kind(),
            AnyDirectory::Cognito(d) => d.kind(),
        }
    }

    async fn authenticate(
        &self,
        username: &str,
        password: &str,
        within: Duration,
    ) -> Result<Verdict, DirectoryError> {
        match self {
            AnyDirectory::Ldap(d) => d.authenticate(username, password, within).await,
            AnyDirectory::Cognito(d) => d.authenticate(username, password, within).await,
        }
    }

    async fn standing(&self, id: &str, within: Duration) -> Result<Standing, DirectoryError> {
        match self {
            AnyDirectory::Ldap(d) => d.standing(id, within).await,
            AnyDirectory::Cognito(d) => d.standing(id, within).await,
        }
    }
}

/// The directory the configuration chooses, wired to its AWS clients (`None`: the users
/// table). The LDAP service account's password is read from SSM now.
pub async fn directory(
    choice: &DirectoryChoice,
    sdk: &SdkConfig,
    calls: &AwsCalls,
) -> Result<Option<AnyDirectory>, DirectoryError> {
    Ok(match choice {
        DirectoryChoice::Users => None,
        DirectoryChoice::Ldap {
            settings,
            bind_password_parameter,
        } => {
            let password = SsmBindPassword::load(ssm(sdk, calls), bind_password_parameter).await?;
            let ldap = LdapDirectory::new(settings.as_ref().clone(), password)?;
            Some(AnyDirectory::Ldap(Box::new(ldap)))
        }
        DirectoryChoice::Cognito(settings) => Some(AnyDirectory::Cognito(CognitoDirectory::new(
            cognito(sdk, calls),
            settings.clone(),
        ))),
    })
}
