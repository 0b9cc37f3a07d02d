//! `--stack NAME`: the table and parameter names come from a deployed stack's outputs, so
//! an operator needs the stack's name, not five variables copied from its outputs.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::error::DisplayErrorContext;
use direct_oauth::config::vars;

/// Each output of template.yaml the CLI reads, and the variable it stands for.
const OUTPUTS: [(&str, &str); 6] = [
    ("UsersTableName", vars::USERS_TABLE.0),
    ("ApplicationsTableName", vars::APPLICATIONS_TABLE.0),
    ("TokensTableName", vars::TOKENS_TABLE.0),
    ("FailedLoginsTableName", vars::FAILED_LOGINS_TABLE.0),
    ("UserTokensTableName", vars::USER_TOKENS_TABLE.0),
    ("WhitelistParameterName", vars::WHITELIST_PARAMETER.0),
];

/// An output only a stack with a SecureString whitelist has.
const KMS_KEY_OUTPUT: &str = "WhitelistKmsKeyArn";

/// The configuration variables the stack's outputs give (one `DescribeStacks`).
pub(crate) async fn variables(
    sdk: &SdkConfig,
    stack: &str,
) -> Result<HashMap<String, String>, String> {
    let answer = aws_sdk_cloudformation::Client::new(sdk)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .map_err(|e| format!("cannot read stack {stack}: {}", DisplayErrorContext(e)))?;
    let found = answer
        .stacks()
        .first()
        .ok_or_else(|| format!("no stack {stack}"))?;
    let outputs = || {
        found
            .outputs()
            .iter()
            .filter_map(|o| Some((o.output_key()?, o.output_value()?)))
    };
    let mut vars = from_outputs(stack, outputs())?;
    if let Some((_, key)) = outputs().find(|(k, _)| *k == KMS_KEY_OUTPUT) {
        vars.insert(vars::WHITELIST_KMS_KEY.0.to_string(), key.to_string());
    }
    Ok(vars)
}

fn from_outputs<'a>(
    stack: &str,
    outputs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<HashMap<String, String>, String> {
    let found: HashMap<&str, &str> = outputs.collect();
    OUTPUTS
        .iter()
        .map(|(key, var)| match found.get(key) {
            Some(value) => Ok((var.to_string(), value.to_string())),
            None => Err(format!(
                "stack {stack} has no output {key}: is it a direct-oauth stack?"
            )),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_comes_from_its_output_or_the_stack_is_refused() {
        let outputs: Vec<(&str, String)> = OUTPUTS
            .iter()
            .map(|(k, _)| (*k, format!("value-of-{k}")))
            .collect();
        let vars = from_outputs("s", outputs.iter().map(|(k, v)| (*k, v.as_str()))).unwrap();
        assert_eq!(vars["DIRECT_OAUTH_USERS_TABLE"], "value-of-UsersTableName");
        assert_eq!(
            vars["DIRECT_OAUTH_WHITELIST_PARAMETER"],
            "value-of-WhitelistParameterName"
        );
        assert_eq!(vars.len(), 6);
        let missing = from_outputs("s", outputs.iter().skip(1).map(|(k, v)| (*k, v.as_str())));
        assert!(missing.unwrap_err().contains("UsersTableName"));
    }
}
