//! Lowering of Warden's `set alertmanager URL [labels { NAME: VALUE, ... }]
//! [[not] on { events }]` (and a check's own `alertmanager ...` line): the
//! URL must be http(s) with a host, label names Prometheus's, values set.

use super::super::common::{SyntaxNode, span, text};
use super::mail::events;
use crate::diag::Diagnostic;
use crate::grammar_rule::Rule;
use crate::lower::context::LowerContext;
use crate::model::{Alertmanager, EventFilter, Settings};

/// `set alertmanager ...`: one more Alertmanager, unless its URL is given
/// already (one destination, one set of labels).
pub fn set_alertmanager(cx: &mut LowerContext, item: SyntaxNode<'_>, settings: &mut Settings) {
    let Some(am) = alertmanager(cx, item) else {
        return;
    };
    if let Some(first) = settings.alertmanagers.iter().find(|a| a.url == am.url) {
        cx.push(
            Diagnostic::error(am.span, format!("the Alertmanager {} is set twice", am.url))
                .with_note(first.span, "set here first")
                .with_hint("give every label in one statement"),
        );
        return;
    }
    settings.alertmanagers.push(am);
}

/// The statement's URL, labels and event filter; None after an error.
pub fn alertmanager(cx: &mut LowerContext, pair: SyntaxNode<'_>) -> Option<Alertmanager> {
    let mut am = Alertmanager {
        url: String::new(),
        labels: Vec::new(),
        filter: EventFilter::default(),
        span: span(&pair),
    };
    let mut ok = true;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::string | Rule::path | Rule::bare => match url(&text(&p)) {
                Ok(u) => am.url = u,
                Err(why) => {
                    cx.push(Diagnostic::error(span(&p), why).with_hint(
                        "write the Alertmanager's base URL, e.g. http://127.0.0.1:9093",
                    ));
                    ok = false;
                }
            },
            Rule::am_labels => ok &= labels(cx, p, &mut am.labels),
            Rule::alert_events => am.filter = events(cx, p),
            _ => {}
        }
    }
    (ok && !am.url.is_empty()).then_some(am)
}

/// An http(s) URL with a host, without a trailing `/`.
pub fn url(raw: &str) -> Result<String, String> {
    let lower = raw.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => {
            Ok(raw.trim_end_matches('/').to_string())
        }
        _ => Err(format!("'{raw}' is not an http:// or https:// URL")),
    }
}

/// Reads `labels { ... }` into `out`; false when one was wrong.
fn labels(cx: &mut LowerContext, pair: SyntaxNode<'_>, out: &mut Vec<(String, String)>) -> bool {
    let mut ok = true;
    let mut any = false;
    let whole = span(&pair);
    for label in pair.into_inner().filter(|p| p.as_rule() == Rule::am_label) {
        any = true;
        let mut parts = label.into_inner();
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        let key = name.as_str().trim_end_matches(':').trim_end().to_string();
        let word = value
            .clone()
            .into_inner()
            .next()
            .map_or_else(|| value.as_str().to_string(), |v| text(&v));
        if let Err(why) = label_name(&key) {
            cx.push(Diagnostic::error(span(&name), why).with_hint(
                "a label name is letters, digits and '_', not starting with a digit or '__'",
            ));
            ok = false;
        } else if out.iter().any(|(k, _)| *k == key) {
            cx.error(span(&name), format!("the label '{key}' is given twice"));
            ok = false;
        } else if word.is_empty() {
            cx.error(
                span(&value),
                format!("the label '{key}' has an empty value"),
            );
            ok = false;
        } else {
            out.push((key, word));
        }
    }
    if !any {
        cx.push(
            Diagnostic::error(whole, "the label list is empty")
                .with_hint("name at least one label, e.g. 'labels { env: prod }', or drop it"),
        );
        ok = false;
    }
    ok
}

/// Prometheus's label names: `[a-zA-Z_][a-zA-Z0-9_]*`, `__` reserved.
fn label_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("'{name}' is not a label name"));
    }
    if name.starts_with("__") {
        return Err(format!(
            "'{name}' is not a label name: names starting with '__' are Prometheus's own"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_http_with_a_host_and_lose_a_trailing_slash() {
        assert_eq!(
            url("http://127.0.0.1:9093/").as_deref(),
            Ok("http://127.0.0.1:9093")
        );
        assert_eq!(
            url("HTTPS://am.example/prefix").as_deref(),
            Ok("HTTPS://am.example/prefix")
        );
        assert!(url("ftp://x").is_err());
        assert!(url("http://").is_err());
        assert!(url("am.example:9093").is_err());
    }

    #[test]
    fn a_check_adds_its_own_alertmanager_and_drops_a_global_one() {
        let loaded = crate::load_text(
            std::path::Path::new("rc"),
            "set alertmanager http://a:9093\n\
             check process web with pidfile /run/web.pid\n\
             \x20 alertmanager http://b:9093 labels { team: web }\n\
             \x20 noalert http://a:9093/\n\
             \x20 if does not exist then restart\n"
                .to_string(),
        );
        assert!(!loaded.has_errors(), "{}", loaded.render());
        let web = &loaded.config.unwrap().checks[0];
        assert_eq!(web.alertmanagers[0].url, "http://b:9093");
        assert_eq!(web.alertmanagers[0].labels, [("team".into(), "web".into())]);
        assert_eq!(web.noalerts, ["http://a:9093"]);
    }

    #[test]
    fn label_names_follow_prometheus() {
        assert!(label_name("env").is_ok() && label_name("_x9").is_ok());
        for bad in ["9x", "my-label", "__name__", "", "é"] {
            assert!(label_name(bad).is_err(), "{bad}");
        }
    }
}
