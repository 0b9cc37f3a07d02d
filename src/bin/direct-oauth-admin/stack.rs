//! `--stack NAME`: the table and parameter names come from a deployed stack's outputs, so
//! an operator needs the stack's name, not a variable for each of the list in
//! `direct_oauth::resources` copied from the outputs.

use std::collections::HashMap;

use aws_config::SdkConfig;
use aws_sdk_cloudformation::error::DisplayErrorContext;
use direct_oauth::resources;

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
    let outputs = found
        .outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?, o.output_value()?)));
    from_outputs(stack, outputs)
}

/// Each resource's variable, set to its output's value. A stack without an optional output
/// (the KMS key of a SecureString whitelist) simply lacks the variable; without any other,
/// it is not a direct-oauth stack, or one older than this CLI.
fn from_outputs<'a>(
    stack: &str,
    outputs: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<HashMap<String, String>, String> {
    let found: HashMap<&str, &str> = outputs.collect();
    let mut vars = HashMap::new();
    for resource in &resources::ALL {
        match found.get(resource.output) {
            Some(value) => {
                vars.insert(resource.variable.to_string(), value.to_string());
            }
            None if resource.is_optional() => {}
            None => {
                return Err(format!(
                    "stack {stack} has no output {}: is it a direct-oauth stack?",
                    resource.output
                ));
            }
        }
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;
    use direct_oauth::resources::Resource;

    fn outputs_of(list: &[Resource]) -> Vec<(&'static str, String)> {
        list.iter()
            .map(|r| (r.output, format!("value-of-{}", r.output)))
            .collect()
    }

    fn read(outputs: &[(&'static str, String)]) -> Result<HashMap<String, String>, String> {
        from_outputs("s", outputs.iter().map(|(k, v)| (*k, v.as_str())))
    }

    #[test]
    fn every_name_comes_from_its_output() {
        let vars = read(&outputs_of(&resources::ALL)).unwrap();
        assert_eq!(vars["DIRECT_OAUTH_USERS_TABLE"], "value-of-UsersTableName");
        assert_eq!(vars["DIRECT_OAUTH_CODES_TABLE"], "value-of-CodesTableName");
        assert_eq!(
            vars["DIRECT_OAUTH_WHITELIST_PARAMETER"],
            "value-of-WhitelistParameterName"
        );
        assert_eq!(
            vars["DIRECT_OAUTH_WHITELIST_KMS_KEY"],
            "value-of-WhitelistKmsKeyArn"
        );
        assert_eq!(vars.len(), resources::ALL.len());
    }

    #[test]
    fn a_stack_without_a_kms_key_is_read_but_one_without_a_table_is_refused() {
        let required: Vec<Resource> = resources::ALL
            .into_iter()
            .filter(|r| !r.is_optional())
            .collect();
        let vars = read(&outputs_of(&required)).unwrap();
        assert!(!vars.contains_key("DIRECT_OAUTH_WHITELIST_KMS_KEY"));
        assert_eq!(vars.len(), required.len());
        for missing in &required {
            let mut outputs = outputs_of(&required);
            outputs.retain(|(k, _)| *k != missing.output);
            assert!(read(&outputs).unwrap_err().contains(missing.output));
        }
    }
}
