//! The service account's password: an SSM SecureString, read at cold start and kept, read
//! again only when the directory refuses it (the secret was rotated meanwhile).

use std::future::Future;

use aws_sdk_ssm::Client;
use aws_sdk_ssm::error::DisplayErrorContext;
use tokio::sync::Mutex;

use crate::directory::DirectoryError;

/// Where the service account's password comes from.
pub trait BindPassword: Send + Sync {
    /// The password; `fresh` asks the source again instead of the copy kept.
    fn get(&self, fresh: bool) -> impl Future<Output = Result<String, DirectoryError>> + Send;
}

pub struct SsmBindPassword {
    client: Client,
    name: String,
    kept: Mutex<String>,
}

impl SsmBindPassword {
    /// Reads the parameter once: a name that cannot be read stops the cold start with a
    /// message, instead of every login answering 503.
    pub async fn load(client: Client, name: impl Into<String>) -> Result<Self, DirectoryError> {
        let name = name.into();
        let kept = Mutex::new(read(&client, &name).await?);
        Ok(SsmBindPassword { client, name, kept })
    }
}

impl BindPassword for SsmBindPassword {
    async fn get(&self, fresh: bool) -> Result<String, DirectoryError> {
        let mut kept = self.kept.lock().await;
        if fresh {
            *kept = read(&self.client, &self.name).await?;
        }
        Ok(kept.clone())
    }
}

async fn read(client: &Client, name: &str) -> Result<String, DirectoryError> {
    let answer = client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| {
            let why = DisplayErrorContext(&e).to_string();
            DirectoryError::Misconfigured(format!("the bind password's parameter {name}: {why}"))
        })?;
    answer
        .parameter
        .and_then(|p| p.value)
        .ok_or_else(|| DirectoryError::Misconfigured(format!("parameter {name} has no value")))
}
