//! `warden -V`: the version, the commit and build profile it was built
//! from (`build.rs`), and what the binary can do. Warden has no cargo
//! features, so every capability is always built in; the text says so
//! rather than leave the reader to guess from an empty list.

/// The text after `warden ` that `-V` and `--version` print.
pub const TEXT: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    "\ncommit:   ",
    env!("WARDEN_GIT_COMMIT"),
    "\nprofile:  ",
    env!("WARDEN_BUILD_PROFILE"),
    "\nfeatures: none (no cargo features: every capability below is always built in)",
    "\nbuilt in: monit command (called as `monit`), systemd notify and watchdog, pidfd exit",
    "\n          watch, control socket API, web page and OpenMetrics over HTTP(S) (rustls),",
    "\n          mail (SMTP, STARTTLS) and webhook alerts, syslog, DNS probes (hickory)",
);

#[cfg(test)]
mod tests {
    #[test]
    fn the_version_text_names_the_version_commit_profile_and_features() {
        let lines: Vec<&str> = super::TEXT.lines().collect();
        assert_eq!(lines[0], env!("CARGO_PKG_VERSION"));
        let commit = lines[1].strip_prefix("commit:   ").unwrap_or_default();
        assert!(
            commit == "unknown"
                || (commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
            "{commit}"
        );
        assert!(
            lines[2] == "profile:  debug" || lines[2] == "profile:  release",
            "{}",
            lines[2]
        );
        assert!(lines[3].starts_with("features: none"));
    }
}
