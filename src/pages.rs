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
ul{padding-left:1.2rem}li{margin:.4rem 0}.scope{font-family:monospace}";

/// `sha256-…` of [`STYLE`], for the Content-Security-Policy's `style-src`.
pub static STYLE_HASH: LazyLock<String> =
    LazyLock::new(|| format!("sha256-{}", STANDARD.encode(Sha256::digest(STYLE))));

/// A hidden field that carries the authorization request through the forms.
pub struct Hidden {
    pub name: &'static str,
    pub value: String,
}

/// The sign-in page: the application that asks, and the form.
#[derive(Template)]
#[template(path = "signin.html")]
pub struct SignIn<'a> {
    pub style: &'a str,
    /// Where the form posts (the server's `/oauth/signin`).
    pub action: &'a str,
    pub app_name: &'a str,
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
