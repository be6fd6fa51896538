//! `warden plan`: the checks as the engine will see them, in plain text.

use std::fmt::Write as _;

use warden_config::Config;
use warden_config::model::describe::duration;
use warden_config::model::{Check, Rule};

pub fn render(config: &Config) -> String {
    let s = &config.settings;
    let mut out = String::new();
    let _ = write!(out, "cycle {}", duration(s.cycle));
    if !s.start_delay.is_zero() {
        let _ = write!(out, ", start delay {}", duration(s.start_delay));
    }
    let _ = writeln!(out, ", {} checks", config.checks.len());
    for check in &config.checks {
        render_check(&mut out, check);
    }
    out
}

fn render_check(out: &mut String, check: &Check) {
    let _ = writeln!(out, "\n{} '{}'", check.kind.type_name(), check.name.value);
    let _ = writeln!(out, "  target     {}", check.kind.target());
    let _ = writeln!(
        out,
        "  schedule   {}, mode {:?}",
        check.schedule, check.mode
    );
    let programs = [
        ("start", &check.start),
        ("stop", &check.stop),
        ("restart", &check.restart),
    ];
    for (what, program) in programs {
        if let Some(p) = program {
            let timeout = p
                .timeout
                .map(|t| format!(" (timeout {})", duration(t)))
                .unwrap_or_default();
            let _ = writeln!(out, "  {what:<10} {}{timeout}", p.command);
        }
    }
    if !check.depends_on.is_empty() {
        let deps: Vec<&str> = check.depends_on.iter().map(|d| d.value.as_str()).collect();
        let _ = writeln!(out, "  depends on {}", deps.join(", "));
    }
    if !check.groups.is_empty() {
        let _ = writeln!(out, "  groups     {}", check.groups.join(", "));
    }
    for rule in &check.rules {
        let _ = writeln!(out, "  rule       {}", rule_text(rule));
    }
}

fn rule_text(rule: &Rule) -> String {
    let test = rule.test.value.to_string();
    let mut text = match (rule.succeeded, test.strip_prefix("failed ")) {
        (true, Some(rest)) => format!("if succeeded {rest}"),
        (true, None) => format!("if succeeded {test}"),
        (false, _) => format!("if {test}"),
    };
    let trigger = rule.trigger.to_string();
    if !trigger.is_empty() {
        let _ = write!(text, " {trigger}");
    }
    let _ = write!(text, " then {}", rule.action.value);
    if let Some(r) = &rule.recovery {
        let _ = write!(text, " else if succeeded");
        let trigger = r.trigger.to_string();
        if !trigger.is_empty() {
            let _ = write!(text, " {trigger}");
        }
        let _ = write!(text, " then {}", r.action.value);
    }
    text
}
