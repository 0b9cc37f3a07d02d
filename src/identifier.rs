//! The rules for the two names a client sends: usernames and client ids. One place, so the
//! request path and the admin CLI cannot drift apart (a name the CLI accepts must be one a
//! request can carry, and the reverse).

/// Longest username. DynamoDB keys stop at 2048 bytes; a longer name must be a clear 401,
/// not a failed read answered 503.
pub const MAX_USERNAME_BYTES: usize = 255;

/// Longest client id.
pub const MAX_CLIENT_ID_BYTES: usize = 255;

/// What the admin CLI says when a username breaks [`is_username`].
pub const USERNAME_RULE: &str = "a username is 1-255 bytes without colons or control characters";

/// What the admin CLI says when a client id breaks [`is_client_id`].
pub const CLIENT_ID_RULE: &str =
    "a client id is 1-255 printable ASCII characters without spaces or commas";

/// 1-255 bytes, no colon (Basic authentication splits at the first one, so such a user
/// could never log in) and no control characters (RFC 7617 §2).
pub fn is_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_USERNAME_BYTES
        && !name.contains(':')
        && !name.chars().any(char::is_control)
}

/// 1-255 printable ASCII characters without commas: the whitelist parameter is a
/// comma- and whitespace-separated list, so any other id could never be whitelisted.
pub fn is_client_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID_BYTES
        && id.chars().all(|c| c.is_ascii_graphic() && c != ',')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(is_username("username"));
        assert!(is_username("zoë"));
        assert!(is_username(&"u".repeat(MAX_USERNAME_BYTES)));
        for bad in ["", "al:ice", "tab\there", "nul\0", "del\x7f"] {
            assert!(!is_username(bad), "{bad:?}");
        }
        assert!(!is_username(&"u".repeat(MAX_USERNAME_BYTES + 1)));
        assert!(
            !is_username(&"é".repeat(128)),
            "bytes are counted, not characters"
        );
    }

    #[test]
    fn client_ids() {
        assert!(is_client_id("some_client_id"));
        assert!(is_client_id(&"c".repeat(MAX_CLIENT_ID_BYTES)));
        for bad in ["", "a,b", "a b", "tab\t", "é", "nl\n"] {
            assert!(!is_client_id(bad), "{bad:?}");
        }
        assert!(!is_client_id(&"c".repeat(MAX_CLIENT_ID_BYTES + 1)));
    }
}
