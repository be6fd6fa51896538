//! What Warden's HTML pages share: the style sheet, the action buttons and
//! the escaping of every string put on a page or in a link (check names
//! come from the config).

use std::fmt::Write as _;

use warden_engine::ServiceAction;

/// The one style sheet of the status page and Monit's pages.
pub const CSS: &str = include_str!("page.css");

/// One button per action, inside a form that POSTs `action=WORD`.
pub fn action_buttons(out: &mut String) {
    for a in ServiceAction::ALL {
        let _ = write!(
            out,
            "<button name=\"action\" value=\"{0}\">{0}</button>",
            a.word()
        );
    }
}

/// HTML text and attribute escaping.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes all but unreserved characters: a query value or one
/// path segment.
pub fn url_encode(text: &str) -> String {
    text.bytes().fold(String::new(), |mut s, b| {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
    }

    #[test]
    fn service_names_are_url_encoded() {
        assert_eq!(url_encode("my web&x"), "my%20web%26x");
    }
}
