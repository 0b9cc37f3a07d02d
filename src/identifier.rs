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

/// What the admin CLI says when a username is not in its normal form ([`login_key`]).
pub const NORMAL_FORM_RULE: &str = "usernames are stored in their normal form (case folded, NFKC, \
     no surrounding or repeated spaces)";

/// The one key of a person's name, whatever the spelling typed: the failed-logins counter,
/// the users table and the allow-lists all use it. The rule follows LDAP's
/// `caseIgnoreMatch` (RFC 4518's case folding, NFKC and insignificant spaces; not its
/// "mapped to nothing" characters): Unicode's compatibility caseless form (NFKC of the
/// case-folded string, folded twice as Unicode §3.13 says so that `ǰ`-like characters
/// settle), then surrounding white space removed and inner runs folded to one space, so
/// `FELIX`, ` felix` and a decomposed `zoë` meet their plain spelling. A Cognito pool that
/// ignores case compares no more finely. Stored keys depend on it: a test holds a set of
/// expected keys, so a crate upgrade that changed one would be seen.
pub fn login_key(name: &str) -> String {
    // Folding spaces after normalising can leave a form that normalises further (NFKC
    // turns some marks into a space and a combining mark): repeated to a fixed point, so
    // the key of a key is itself.
    let mut key = normal_form(name);
    for _ in 0..3 {
        let again = normal_form(&key);
        if again == key {
            break;
        }
        key = again;
    }
    // NFKC can make a 255-byte name many times longer (a DynamoDB key stops at 2048
    // bytes), or make a colon of a fullwidth one (`:bcrypt` is a marker's key). A key no
    // stored name can have is kept as its hash, which no name or marker can be either.
    if is_username(&key) {
        return key;
    }
    format!("sha256:{}", crate::secret::hex(&crate::secret::hash(&key)))
}

/// One pass of the rule: compatibility caseless form, then spaces folded.
fn normal_form(name: &str) -> String {
    use caseless::Caseless;
    use unicode_normalization::UnicodeNormalization;
    let folded: String = name
        .chars()
        .nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkc()
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether a name is stored as it is typed in its normal form: the users table takes only
/// such names (`Alice` and `alice` are one person, so only `alice` can be added).
pub fn is_normal_username(name: &str) -> bool {
    is_username(name) && login_key(name) == name
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
    fn every_spelling_of_a_name_has_one_key() {
        for spelling in [
            "felix",
            "FELIX",
            "Felix",
            "felix ",
            " felix",
            "fElix",
            "\tfelix\n",
        ] {
            assert_eq!(login_key(spelling), "felix", "{spelling:?}");
        }
        // Composed and decomposed ë, and compatibility forms (fullwidth, ligatures).
        assert_eq!(login_key("zoe\u{308}"), login_key("zo\u{eb}"));
        assert_eq!(login_key("ZO\u{cb}"), "zo\u{eb}");
        assert_eq!(login_key("\u{ff26}elix"), "felix");
        assert_eq!(login_key("\u{fb01}n"), "fin");
        assert_eq!(login_key("stra\u{df}e"), login_key("STRASSE"));
        assert_eq!(login_key("anne  marie"), "anne marie");
        assert_ne!(login_key("felix"), login_key("felix2"));
    }

    #[test]
    fn a_key_stays_within_dynamodb_s_limit_and_is_never_a_marker() {
        // U+FDFA is one character that NFKC makes eighteen.
        let long = "\u{fdfa}".repeat(MAX_USERNAME_BYTES / 3);
        let key = login_key(&long);
        assert!(key.len() < 100, "{}", key.len());
        assert_eq!(key, login_key(&long), "the same name, the same key");
        // A fullwidth colon is a colon under NFKC: the users table's markers start so.
        let marker = login_key("\u{ff1a}bcrypt");
        assert!(!marker.starts_with(':'), "{marker}");
        assert!(!is_username(&marker), "and no user can be called that");
    }

    #[test]
    fn the_keys_stored_so_far_stay_what_they_are() {
        // Records are keyed by these: a change of the rule, or of a crate under it, would
        // strand them. Each pair is (typed, key).
        for (typed, key) in [
            ("Felix", "felix"),
            ("  Anne   Marie ", "anne marie"),
            ("ZOE\u{308}", "zo\u{eb}"),
            ("Stra\u{df}e", "strasse"),
            ("\u{212b}ngstr\u{f6}m", "\u{e5}ngstr\u{f6}m"),
            ("\u{ff21}\u{ff22}", "ab"),
            ("\u{3a3}\u{3b1}\u{3c2}", "\u{3c3}\u{3b1}\u{3c3}"),
            ("a \u{b4}", "a \u{301}"),
        ] {
            assert_eq!(login_key(typed), key, "{typed:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_key_of_a_key_is_itself(name in "\\PC{1,40}") {
            let key = login_key(&name);
            if is_username(&key) {
                proptest::prop_assert_eq!(login_key(&key), key.clone());
                proptest::prop_assert!(is_normal_username(&key));
            }
        }
    }

    #[test]
    fn only_names_in_normal_form_are_stored() {
        assert!(is_normal_username("alice"));
        assert!(is_normal_username("zo\u{eb}"));
        for other in ["Alice", " alice", "zoe\u{308}", "al:ice"] {
            assert!(!is_normal_username(other), "{other:?}");
        }
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
