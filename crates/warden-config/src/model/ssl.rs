//! SSL/TLS options, typed once at lowering: the `{ verify: enable,
//! selfsigned: allow, version: tlsv12 ... }` of `set ssl`, `set httpd ...
//! with ssl`, a mail server (with its `certificate checksum`) and a
//! connection test's `ssl options`. Consumers read the fields; the model
//! shows the options as written (`plan --json`).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;
use serde::ser::{SerializeSeq, SerializeStruct};

use super::hash::HashAlgorithm;

/// `selfsigned: allow|reject`: whether a self-signed certificate passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelfSigned {
    Allow,
    Reject,
}

impl SelfSigned {
    pub const ALL: &'static [SelfSigned] = &[SelfSigned::Allow, SelfSigned::Reject];

    pub fn name(self) -> &'static str {
        match self {
            SelfSigned::Allow => "allow",
            SelfSigned::Reject => "reject",
        }
    }
}

/// An SSL/TLS protocol version as `version:` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslVersion {
    /// Whatever the library offers.
    Auto,
    Sslv2,
    Sslv3,
    Tlsv1,
    Tlsv11,
    Tlsv12,
    Tlsv13,
}

impl SslVersion {
    /// Every version, in the order hints list them.
    pub const ALL: &'static [SslVersion] = &[
        SslVersion::Auto,
        SslVersion::Sslv2,
        SslVersion::Sslv3,
        SslVersion::Tlsv1,
        SslVersion::Tlsv11,
        SslVersion::Tlsv12,
        SslVersion::Tlsv13,
    ];

    /// The one spelling the model shows (`tlsv12` for `TLSv1.2`).
    pub fn name(self) -> &'static str {
        match self {
            SslVersion::Auto => "auto",
            SslVersion::Sslv2 => "sslv2",
            SslVersion::Sslv3 => "sslv3",
            SslVersion::Tlsv1 => "tlsv1",
            SslVersion::Tlsv11 => "tlsv11",
            SslVersion::Tlsv12 => "tlsv12",
            SslVersion::Tlsv13 => "tlsv13",
        }
    }
}

/// One word of `version:`: a version to offer, or (`-tlsv1`) one to leave
/// out of the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionWord {
    pub version: SslVersion,
    pub excluded: bool,
}

impl fmt::Display for VersionWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.excluded { "-" } else { "" };
        write!(f, "{sign}{}", self.version.name())
    }
}

/// `certificate checksum [md5|sha1|sha256] HASH`: the hash the server's
/// certificate must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateChecksum {
    pub algorithm: HashAlgorithm,
    /// Lower-case hex, colons removed.
    pub hex: String,
}

impl fmt::Display for CertificateChecksum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), self.hex)
    }
}

/// One option, as lowering checked it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SslOption {
    Verify(bool),
    SelfSigned(SelfSigned),
    Version(Vec<VersionWord>),
    Ciphers(String),
    PemFile(PathBuf),
    PemChain(PathBuf),
    PemKey(PathBuf),
    ClientPemFile(PathBuf),
    CaCertificateFile(PathBuf),
    CaCertificatePath(PathBuf),
    Checksum(CertificateChecksum),
}

impl SslOption {
    /// The option's key as the model shows it.
    pub fn key(&self) -> &'static str {
        match self {
            SslOption::Verify(_) => "verify",
            SslOption::SelfSigned(_) => "selfsigned",
            SslOption::Version(_) => "version",
            SslOption::Ciphers(_) => "ciphers",
            SslOption::PemFile(_) => "pemfile",
            SslOption::PemChain(_) => "pemchain",
            SslOption::PemKey(_) => "pemkey",
            SslOption::ClientPemFile(_) => "clientpemfile",
            SslOption::CaCertificateFile(_) => "cacertificatefile",
            SslOption::CaCertificatePath(_) => "cacertificatepath",
            SslOption::Checksum(_) => "checksum",
        }
    }

    /// The value in its one spelling (`enable`, `tlsv12 tlsv13`, a path).
    fn shown(&self) -> String {
        match self {
            SslOption::Verify(true) => "enable".into(),
            SslOption::Verify(false) => "disable".into(),
            SslOption::SelfSigned(s) => s.name().into(),
            SslOption::Version(words) => words
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" "),
            SslOption::Ciphers(c) => c.clone(),
            SslOption::PemFile(p)
            | SslOption::PemChain(p)
            | SslOption::PemKey(p)
            | SslOption::ClientPemFile(p)
            | SslOption::CaCertificateFile(p)
            | SslOption::CaCertificatePath(p) => p.display().to_string(),
            SslOption::Checksum(c) => c.to_string(),
        }
    }
}

/// SSL/TLS options. A later option overrides an earlier one of the same
/// key, as in Monit; `None` (or no version word) means not given.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SslOptions {
    /// TLS is on: `with ssl`, `ssl enable`, a `{ ... }` block; false after
    /// `ssl disable`.
    pub enabled: bool,
    pub verify: Option<bool>,
    pub selfsigned: Option<SelfSigned>,
    pub version: Vec<VersionWord>,
    pub ciphers: Option<String>,
    /// Certificate and private key in one file.
    pub pemfile: Option<PathBuf>,
    /// Certificate chain and private key in two files (with `pemkey`).
    pub pemchain: Option<PathBuf>,
    pub pemkey: Option<PathBuf>,
    pub clientpemfile: Option<PathBuf>,
    pub cacertificatefile: Option<PathBuf>,
    pub cacertificatepath: Option<PathBuf>,
    pub checksum: Option<CertificateChecksum>,
    /// Each option as written, in order: only what the model shows, so the
    /// JSON stays as it was when the options were kept as text.
    written: Vec<(String, String)>,
}

impl SslOptions {
    /// Options switched on, none set yet.
    pub fn on() -> SslOptions {
        SslOptions {
            enabled: true,
            ..SslOptions::default()
        }
    }

    /// Sets `option` (over an earlier one of its key).
    pub fn set(&mut self, option: SslOption) {
        self.written
            .push((option.key().to_string(), option.shown()));
        self.apply(option);
    }

    /// Sets `option` when there is one, showing `key: value` as written: a
    /// connection test keeps its options' words, which only some of are
    /// values Warden reads.
    pub(crate) fn set_as_written(&mut self, option: Option<SslOption>, key: &str, value: &str) {
        self.written.push((key.to_string(), value.to_string()));
        if let Some(option) = option {
            self.apply(option);
        }
    }

    /// Whether no option was written.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    /// The options as the model shows them: `(key, value)` in written order.
    pub(crate) fn written(&self) -> &[(String, String)] {
        &self.written
    }

    fn apply(&mut self, option: SslOption) {
        match option {
            SslOption::Verify(v) => self.verify = Some(v),
            SslOption::SelfSigned(s) => self.selfsigned = Some(s),
            SslOption::Version(words) => self.version = words,
            SslOption::Ciphers(c) => self.ciphers = Some(c),
            SslOption::PemFile(p) => self.pemfile = Some(p),
            SslOption::PemChain(p) => self.pemchain = Some(p),
            SslOption::PemKey(p) => self.pemkey = Some(p),
            SslOption::ClientPemFile(p) => self.clientpemfile = Some(p),
            SslOption::CaCertificateFile(p) => self.cacertificatefile = Some(p),
            SslOption::CaCertificatePath(p) => self.cacertificatepath = Some(p),
            SslOption::Checksum(c) => self.checksum = Some(c),
        }
    }
}

/// `{"enabled": true, "options": [["verify", "enable"], ...]}`, as the
/// model showed the options when they were text.
impl Serialize for SslOptions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("SslOptions", 2)?;
        st.serialize_field("enabled", &self.enabled)?;
        st.serialize_field("options", &self.written)?;
        st.end()
    }
}

/// A connection test's options as the bare list `[["verify", "enable"]]`
/// (`[]` without any), as the model showed them.
pub(crate) fn serialize_test_ssl<S: serde::Serializer>(
    ssl: &Option<Box<SslOptions>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    let written = ssl.as_deref().map_or(&[][..], SslOptions::written);
    let mut seq = s.serialize_seq(Some(written.len()))?;
    for pair in written {
        seq.serialize_element(pair)?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_option_wins_and_every_one_is_shown_in_order() {
        let mut ssl = SslOptions::on();
        ssl.set(SslOption::PemFile("/a.pem".into()));
        ssl.set(SslOption::Version(vec![
            VersionWord {
                version: SslVersion::Auto,
                excluded: false,
            },
            VersionWord {
                version: SslVersion::Tlsv1,
                excluded: true,
            },
        ]));
        ssl.set(SslOption::PemFile("/b.pem".into()));
        ssl.set(SslOption::Checksum(CertificateChecksum {
            algorithm: HashAlgorithm::Sha1,
            hex: "ab".into(),
        }));
        assert_eq!(ssl.pemfile.as_deref(), Some("/b.pem".as_ref()));
        let shown: Vec<(&str, &str)> = ssl
            .written()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            shown,
            [
                ("pemfile", "/a.pem"),
                ("version", "auto -tlsv1"),
                ("pemfile", "/b.pem"),
                ("checksum", "sha1:ab"),
            ]
        );
    }

    #[test]
    fn a_test_option_is_shown_as_written_and_read_when_typed() {
        let mut ssl = SslOptions::on();
        ssl.set_as_written(Some(SslOption::Verify(true)), "verify", "Enable");
        ssl.set_as_written(None, "selfsigned", "perhaps");
        assert_eq!((ssl.verify, ssl.selfsigned), (Some(true), None));
        assert_eq!(ssl.written().len(), 2);
        assert!(!ssl.is_empty() && SslOptions::default().is_empty());
    }
}
