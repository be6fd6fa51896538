//! `warden plan`: the checks as the engine will see them, in plain text.

use std::fmt::Write as _;

use warden_config::Config;

pub fn render(config: &Config) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "cycle: {} s", config.settings.cycle.as_secs_f64());
    for check in &config.checks {
        let _ = writeln!(out, "\n{} '{}'", check.kind.type_name(), check.name.value);
        let _ = writeln!(out, "  target    {}", serde_json::to_string(&check.kind).unwrap_or_default());
        let _ = writeln!(out, "  mode      {:?}", check.mode);
        let _ = writeln!(out, "  schedule  {}", serde_json::to_string(&check.schedule).unwrap_or_default());
        if let Some(p) = &check.start {
            let _ = writeln!(out, "  start     {}", p.command);
        }
        if let Some(p) = &check.stop {
            let _ = writeln!(out, "  stop      {}", p.command);
        }
        if !check.depends_on.is_empty() {
            let deps: Vec<&str> = check.depends_on.iter().map(|d| d.value.as_str()).collect();
            let _ = writeln!(out, "  depends   {}", deps.join(", "));
        }
        for rule in &check.rules {
            let _ = writeln!(
                out,
                "  rule      if {} ({} within {}) then {}",
                serde_json::to_string(&rule.test.value).unwrap_or_default(),
                rule.trigger.times,
                rule.trigger.within,
                serde_json::to_string(&rule.action.value).unwrap_or_default()
            );
        }
    }
    out
}
