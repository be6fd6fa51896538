//! TLS for the TCP interface: rustls settings from `with ssl { pemfile: F }`
//! or `{ pemchain: F, pemkey: K }`, read each time the interface is set up.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use warden_config::model::SslOptions;

/// Why the TCP interface cannot be given TLS.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("ssl needs a certificate: pemfile, or pemchain and pemkey")]
    NoCertificateOption,
    #[error("cannot read the certificate {}: {source}", path.display())]
    ReadCertificate {
        path: PathBuf,
        source: tokio_rustls::rustls::pki_types::pem::Error,
    },
    #[error("no certificate in {}", .0.display())]
    NoCertificate(PathBuf),
    #[error("no private key in {}: {source}", path.display())]
    NoKey {
        path: PathBuf,
        source: tokio_rustls::rustls::pki_types::pem::Error,
    },
    #[error("TLS setup: {0}")]
    Setup(tokio_rustls::rustls::Error),
    #[error("the certificate in {} is not usable: {source}", path.display())]
    Unusable {
        path: PathBuf,
        source: tokio_rustls::rustls::Error,
    },
}

/// The TLS settings from `with ssl { pemfile: F }` (certificate and key in
/// one file, as Monit has it) or `{ pemchain: F, pemkey: K }`; None without
/// `ssl`. An option Warden cannot honour is a warning.
pub fn tls_config(ssl: Option<&SslOptions>) -> Result<Option<Arc<ServerConfig>>, TlsError> {
    let Some(ssl) = ssl.filter(|s| s.enabled) else {
        return Ok(None);
    };
    let (chain, key) = match (
        ssl.pemchain.as_deref(),
        ssl.pemkey.as_deref(),
        ssl.pemfile.as_deref(),
    ) {
        (Some(chain), Some(key), _) => (chain, key),
        (_, _, Some(file)) => (file, file),
        _ => return Err(TlsError::NoCertificateOption),
    };
    if ssl.clientpemfile.is_some() {
        tracing::warn!("ssl clientpemfile: client certificates are not supported yet; ignored");
    }
    let certs = certificates(chain)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::NoKey {
        path: key.to_path_buf(),
        source,
    })?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|source| TlsError::Unusable {
            path: chain.to_path_buf(),
            source,
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Some(Arc::new(config)))
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::ReadCertificate {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use warden_config::model::{SelfSigned, SslOption};

    fn ssl(options: &[SslOption]) -> SslOptions {
        let mut ssl = SslOptions::on();
        for option in options {
            ssl.set(option.clone());
        }
        ssl
    }

    #[test]
    fn no_ssl_means_plain_http() {
        assert!(tls_config(None).unwrap().is_none());
        let off = SslOptions::default();
        assert!(tls_config(Some(&off)).unwrap().is_none());
    }

    #[test]
    fn unusable_certificates_are_clear_errors() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate\n").unwrap();
        let missing = dir.path().join("missing.pem");
        let table = [
            (
                ssl(&[SslOption::SelfSigned(SelfSigned::Allow)]),
                "ssl needs a certificate",
            ),
            (ssl(&[SslOption::PemFile(junk)]), "no certificate in"),
            (
                ssl(&[SslOption::PemFile(missing)]),
                "cannot read the certificate",
            ),
        ];
        for (options, want) in table {
            let err = tls_config(Some(&options)).unwrap_err();
            assert!(
                err.to_string().contains(want),
                "{err:?} should say {want:?}"
            );
        }
    }

    #[test]
    fn a_pemfile_or_a_pemchain_with_a_pemkey_is_a_usable_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let (cert, key) = (made.cert.pem(), made.signing_key.serialize_pem());
        let (both, chain, keyfile) = (
            dir.path().join("both.pem"),
            dir.path().join("chain.pem"),
            dir.path().join("key.pem"),
        );
        std::fs::write(&both, format!("{key}{cert}")).unwrap();
        std::fs::write(&chain, &cert).unwrap();
        std::fs::write(&keyfile, &key).unwrap();
        let table = [
            ssl(&[SslOption::PemFile(both)]),
            ssl(&[
                SslOption::PemChain(chain.clone()),
                SslOption::PemKey(keyfile),
            ]),
        ];
        for options in table {
            assert!(tls_config(Some(&options)).unwrap().is_some(), "{options:?}");
        }
        let no_key = ssl(&[SslOption::PemFile(chain)]);
        assert!(
            tls_config(Some(&no_key))
                .unwrap_err()
                .to_string()
                .contains("no private key")
        );
    }
}
