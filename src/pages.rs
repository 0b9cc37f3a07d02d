//! What the sign-in and consent pages say: askama templates (`templates/`), HTML-escaped
//! by default, with no script. Their one stylesheet is inline and allowed by its hash
//! ([`STYLE_HASH`]), so the Content-Security-Policy needs no `unsafe-inline`.

use std::sync::LazyLock;

use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

/// The pages' stylesheet: readable on a phone, focus visible, enough contrast.
pub const STYLE: &str = "\
body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;\
line-height:1.5;color:#1b1b1b;background:#fff}\
h1{font-size:1.5rem}label{display:block;margin-top:1rem;font-weight:600}\
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;\
font-size:1rem;border:1px solid #555;border-radius:4px}\
button{margin-top:1rem;margin-right:.5rem;padding:.5rem 1rem;font-size:1rem;border-radius:4px;\
border:1px solid #0b4f8a;background:#0b4f8a;color:#fff;cursor:pointer}\
button.secondary{background:#fff;color:#0b4f8a}\
:focus-visible{outline:3px solid #c05600;outline-offset:2px}\
.error{color:#a00000;font-weight:600}.danger{color:#a00000}\
ul{padding-left:1.2rem}li{margin:.4rem 0}.scope{font-family:monospace}\
select{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}fieldset{margin-top:1rem;border:1px solid #555}\
label.choice{font-weight:400;margin-top:.4rem}form.inline{display:inline}\
table{border-collapse:collapse;width:100%;display:block;overflow-x:auto}\
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ccc;vertical-align:top}\
.token{font-family:monospace}.shown-once{border:2px solid #0b4f8a;padding:0 1rem 1rem}\
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}\
ul.authorized{list-style:none;padding:0}ul.authorized h2{font-size:1.2rem;margin-bottom:0}";

/// `sha256-…` of [`STYLE`], for the Content-Security-Policy's `style-src`.
pub static STYLE_HASH: LazyLock<String> =
    LazyLock::new(|| format!("sha256-{}", STANDARD.encode(Sha256::digest(STYLE))));

/// A hidden field that carries the authorization request through the forms.
pub struct Hidden {
    pub name: &'static str,
    pub value: String,
}

/// The sign-in page: the application that asks (none: the person's own pages), and the
/// form.
#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignIn<'a> {
    pub style: &'a str,
    /// Where the form posts (the server's `/oauth/signin`).
    pub action: &'a str,
    pub app_name: Option<&'a str>,
    pub username: &'a str,
    /// The one message every failure shows, or a back-off's.
    pub message: Option<&'a str>,
    pub hidden: &'a [Hidden],
}

/// One scope on the consent page.
pub struct ScopeLine {
    pub name: String,
    pub what: String,
    pub dangerous: bool,
}

/// The consent page: who is signed in, which application asks, for what.
#[derive(Template)]
#[template(path = "consent.html")]
pub struct Consent<'a> {
    pub style: &'a str,
    pub action: &'a str,
    pub signout_action: &'a str,
    pub app_name: &'a str,
    pub username: &'a str,
    pub scopes: &'a [ScopeLine],
    pub any_dangerous: bool,
    pub csrf: &'a str,
    pub message: Option<&'a str>,
    pub hidden: &'a [Hidden],
}

/// The head of the person's own pages: who is signed in, the pages, signing out (with the
/// session's CSRF token, as every form of theirs).
pub struct Nav {
    pub username: String,
    pub tokens_url: String,
    pub applications_url: String,
    pub signout_action: String,
    pub csrf: String,
}

/// Each scope as a person reads it, the dangerous ones marked: the consent page's and the
/// Tokens page's.
pub fn scope_lines<'a>(names: impl IntoIterator<Item = &'a String>) -> Vec<ScopeLine> {
    let line = |name: &String| {
        let (what, dangerous) = crate::scope::describe(name);
        ScopeLine {
            name: name.clone(),
            what: what.to_string(),
            dangerous,
        }
    };
    names.into_iter().map(line).collect()
}

/// One API token on the Tokens page.
pub struct TokenLine {
    pub id: String,
    pub name: String,
    pub application: String,
    pub scopes: String,
    pub created: String,
    pub expires: String,
    pub last_used: String,
    pub status: &'static str,
    /// Whether it can still be revoked.
    pub live: bool,
}

/// An application on the Tokens page's form, with its terms.
pub struct TokenApplication {
    pub client_id: String,
    pub name: String,
    pub default_days: u32,
    pub max_days: u32,
    pub no_expiry: bool,
}

/// The Tokens page: the person's API tokens, the one just created (shown once), the form.
#[derive(Template)]
#[template(path = "tokens.html")]
pub struct Tokens<'a> {
    pub style: &'a str,
    pub nav: Nav,
    pub created: Option<&'a str>,
    pub message: Option<&'a str>,
    pub tokens: &'a [TokenLine],
    pub applications: &'a [TokenApplication],
    pub scopes: &'a [ScopeLine],
    /// The lives offered besides the default and never, in days.
    pub lives: &'a [u32],
    pub create_action: &'a str,
    pub revoke_action: &'a str,
}

/// One application on the Authorized applications page.
pub struct AuthorizedLine {
    pub client_id: String,
    pub name: String,
    pub scopes: String,
    pub live_tokens: usize,
}

/// The Authorized applications page.
#[derive(Template)]
#[template(path = "applications.html")]
pub struct Applications<'a> {
    pub style: &'a str,
    pub nav: Nav,
    pub message: Option<&'a str>,
    pub authorized: &'a [AuthorizedLine],
    pub revoke_action: &'a str,
}

/// The device authorization the person is asked about on the verification page.
pub struct DeviceRequest {
    pub app_name: String,
    /// As the tool shows it (`BCDF-GHJK`).
    pub user_code: String,
    pub scopes: Vec<ScopeLine>,
    pub requested_from: String,
    pub user_agent: String,
    /// `2026-12-07 17:40 UTC`.
    pub requested_at: String,
}

/// The device verification page (RFC 8628 §3.3): the code's entry, or the request it
/// names with the warning against approving what the person did not start.
#[derive(Template)]
#[template(path = "device.html")]
pub struct Device<'a> {
    pub style: &'a str,
    pub nav: Nav,
    pub action: &'a str,
    /// What the entry field holds.
    pub typed: &'a str,
    pub message: Option<&'a str>,
    pub request: Option<DeviceRequest>,
}

/// A page that only says something: an error that cannot go back to the client, or that
/// the session ended.
#[derive(Template)]
#[template(path = "message.html")]
pub struct Message<'a> {
    pub style: &'a str,
    pub title: &'a str,
    pub text: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_page_shows_is_escaped() {
        let page = Message {
            style: STYLE,
            title: "<script>alert(1)</script>",
            text: "a \"quoted\" & <b>bold</b> text",
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("lang=\"en\""));
    }

    #[test]
    fn the_style_hash_is_the_inline_style_s() {
        let html = Message {
            style: STYLE,
            title: "t",
            text: "x",
        }
        .render()
        .unwrap();
        let inline = html
            .split("<style>")
            .nth(1)
            .unwrap()
            .split("</style>")
            .next();
        let digest = STANDARD.encode(Sha256::digest(inline.unwrap()));
        assert_eq!(*STYLE_HASH, format!("sha256-{digest}"));
    }
}
