//! Facts about a peer's TLS certificate: the days left until it expires,
//! read from its DER form (reqwest's `TlsInfo`) with x509-parser.

use std::time::{SystemTime, UNIX_EPOCH};

const DAY: f64 = 86_400.0;

/// Why `certificate valid > N days` failed.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("cannot read the server's certificate: {0}")]
    Unreadable(#[from] x509_parser::nom::Err<x509_parser::error::X509Error>),
    #[error("the certificate expires in {} days, less than {min_days}", .days.floor())]
    ExpiresSoon { days: f64, min_days: u32 },
}

/// Days from `now` until the certificate's notAfter (negative once expired).
pub fn days_left(der: &[u8], now: SystemTime) -> Result<f64, CertificateError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)?;
    let not_after = cert.validity().not_after.timestamp() as f64;
    let now = match now.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    };
    Ok((not_after - now) / DAY)
}

/// Judges `certificate valid > N days`: the measured days, or why not.
pub fn check_valid_days(
    der: &[u8],
    min_days: u32,
    now: SystemTime,
) -> (Option<f64>, Result<(), CertificateError>) {
    match days_left(der, now) {
        Err(e) => (None, Err(e)),
        Ok(days) if days < f64::from(min_days) => (
            Some(days),
            Err(CertificateError::ExpiresSoon { days, min_days }),
        ),
        Ok(days) => (Some(days), Ok(())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A self-signed certificate valid until 2100-01-01 00:00 UTC.
    fn certificate() -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2100, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    const Y2100: u64 = 4_102_444_800;

    #[test]
    fn days_left_count_from_now_to_not_after() {
        let der = certificate();
        let ten_days_before = UNIX_EPOCH + Duration::from_secs(Y2100 - 10 * 86_400);
        assert_eq!(days_left(&der, ten_days_before).unwrap(), 10.0);
        let a_day_after = UNIX_EPOCH + Duration::from_secs(Y2100 + 86_400);
        assert_eq!(days_left(&der, a_day_after).unwrap(), -1.0);
    }

    #[test]
    fn valid_days_below_the_limit_fail_with_the_days_measured() {
        let der = certificate();
        let now = UNIX_EPOCH + Duration::from_secs(Y2100 - 20 * 86_400);
        let (days, result) = check_valid_days(&der, 10, now);
        assert_eq!(days, Some(20.0));
        assert!(result.is_ok());
        let (days, result) = check_valid_days(&der, 30, now);
        assert_eq!(days, Some(20.0));
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("expires in 20 days, less than 30")
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        let (days, result) = check_valid_days(b"not der", 1, SystemTime::now());
        assert_eq!(days, None);
        assert!(result.unwrap_err().to_string().contains("cannot read"));
    }
}
