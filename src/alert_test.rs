//! `warden alert-test [ADDR]`: sends a real test mail through the configured
//! mail servers (in order, as alerts go) to ADDR or to every `set alert`
//! recipient, and prints each server's answer or the error.

use std::path::Path;
use std::process::ExitCode;
use std::time::SystemTime;

use warden_config::Config;
use warden_notify::alert::{AlertEvent, millis};
use warden_notify::format::{Template, render};
use warden_notify::mail::bare_address;

use crate::control_file::print_diagnostics;
use crate::exit;

pub fn run(path: &Path, address: Option<&str>) -> ExitCode {
    let loaded = warden_config::load_file(path);
    print_diagnostics(&loaded);
    let Some(config) = loaded.config else {
        return ExitCode::from(exit::CONFIG);
    };
    let recipients = recipients(&config, address);
    if recipients.is_empty() {
        eprintln!("warden: alert-test: no recipient; give an address or add 'set alert ADDR'");
        return ExitCode::from(exit::USAGE);
    }
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warden: alert-test: cannot start the runtime: {e}");
            return ExitCode::from(exit::FAILED);
        }
    };
    let mut failed = false;
    for (to, template) in recipients {
        let event = test_event();
        let Some(mail) = render(&template, &[&event]) else {
            continue;
        };
        match rt.block_on(warden_notify::mail::send(&config.settings, &to, &mail)) {
            Ok(answer) => println!("{to}: sent; {answer}"),
            Err(e) => {
                eprintln!("warden: alert-test: {to}: not sent: {e}");
                failed = true;
            }
        }
    }
    ExitCode::from(if failed { exit::FAILED } else { exit::OK })
}

/// ADDR with the global format, or every global recipient with its own.
fn recipients(config: &Config, address: Option<&str>) -> Vec<(String, Template)> {
    let s = &config.settings;
    match address {
        Some(a) => vec![(bare_address(a), Template::resolve(&s.mail_format, None))],
        None => s
            .alerts
            .iter()
            .map(|a| {
                let t = Template::resolve(&s.mail_format, a.mail_format.as_ref());
                (bare_address(&a.address), t)
            })
            .collect(),
    }
}

fn test_event() -> AlertEvent {
    let now = SystemTime::now();
    AlertEvent {
        service: "warden".into(),
        event: "Test".into(),
        kind: "test".into(),
        failure: false,
        action: "alert".into(),
        description: "a test alert sent by 'warden alert-test'".into(),
        date: warden_engine::clock::monit_date(now),
        timestamp_ms: millis(now),
        host: warden_notify::host_name(),
    }
}
