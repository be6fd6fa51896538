//! `if failed [md5|sha1|sha256] checksum [expect X]` and `if changed
//! checksum`: a rule probe that hashes the file (on the blocking pool, so a
//! big file never stalls the runtime) and compares the digest with the
//! expected one or with the one it saw last cycle.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use warden_config::model::HashAlgorithm;

use crate::outcome::{Outcome, Status, Text};
use crate::{BoxFuture, Probe};

#[derive(Debug)]
pub struct ChecksumProbe {
    path: PathBuf,
    algorithm: HashAlgorithm,
    /// Lowercase hex; None: compare with the last digest (`changed`).
    expected: Option<String>,
    last: Mutex<Option<String>>,
}

impl ChecksumProbe {
    /// Without an algorithm, the expected digest's length picks one (32 hex
    /// digits md5, 40 sha1, 64 sha256); Monit's default is md5.
    pub fn new(path: PathBuf, algorithm: Option<HashAlgorithm>, expected: Option<String>) -> Self {
        let expected = expected.map(|e| e.trim().to_ascii_lowercase());
        let algorithm = algorithm.unwrap_or(match expected.as_ref().map(String::len) {
            Some(40) => HashAlgorithm::Sha1,
            Some(64) => HashAlgorithm::Sha256,
            _ => HashAlgorithm::Md5,
        });
        ChecksumProbe {
            path,
            algorithm,
            expected,
            last: Mutex::new(None),
        }
    }

    /// Judges a digest (or the error hashing gave).
    fn judge(&self, digest: std::io::Result<String>) -> Outcome {
        let name = name(self.algorithm);
        let digest = match digest {
            Ok(d) => d,
            Err(e) => {
                return Outcome::failed(
                    Status::Error,
                    format!(
                        "cannot compute the {name} checksum of {}: {e}",
                        self.path.display()
                    ),
                );
            }
        };
        let text = match self.algorithm {
            HashAlgorithm::Md5 => Text::ChecksumMd5,
            HashAlgorithm::Sha1 => Text::ChecksumSha1,
            HashAlgorithm::Sha256 => Text::ChecksumSha256,
        };
        let outcome = if let Some(want) = &self.expected {
            if &digest == want {
                Outcome::ok(format!("{name} checksum is {digest}"))
            } else {
                Outcome::failed(
                    Status::Failed,
                    format!("{name} checksum is {digest}, expected {want}"),
                )
            }
        } else {
            let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
            match last.replace(digest.clone()) {
                Some(before) if before != digest => Outcome::failed(
                    Status::Failed,
                    format!("{name} checksum changed from {before} to {digest}"),
                ),
                _ => Outcome::ok(format!("{name} checksum has not changed ({digest})")),
            }
        };
        // Status shows the digest whatever the rule made of it.
        outcome.with_text(text, digest)
    }
}

fn name(a: HashAlgorithm) -> &'static str {
    match a {
        HashAlgorithm::Md5 => "md5",
        HashAlgorithm::Sha1 => "sha1",
        HashAlgorithm::Sha256 => "sha256",
    }
}

/// The file's digest in lowercase hex, read in 64 KiB pieces.
pub fn digest_file(path: &Path, algorithm: HashAlgorithm) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    match algorithm {
        HashAlgorithm::Md5 => hash::<Md5>(file),
        HashAlgorithm::Sha1 => hash::<Sha1>(file),
        HashAlgorithm::Sha256 => hash::<Sha256>(file),
    }
}

fn hash<D: Digest>(mut file: std::fs::File) -> std::io::Result<String> {
    let mut hasher = D::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}

impl Probe for ChecksumProbe {
    fn kind(&self) -> &'static str {
        "checksum"
    }

    fn run(&self) -> BoxFuture<'_, Outcome> {
        Box::pin(async move {
            let (path, algorithm) = (self.path.clone(), self.algorithm);
            let digest = tokio::task::spawn_blocking(move || digest_file(&path, algorithm))
                .await
                .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            self.judge(digest)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_match_the_known_values_of_abc() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, "abc").unwrap();
        let table = [
            (HashAlgorithm::Md5, "900150983cd24fb0d6963f7d28e17f72"),
            (
                HashAlgorithm::Sha1,
                "a9993e364706816aba3e25717850c26c9cd0d89d",
            ),
            (
                HashAlgorithm::Sha256,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            ),
        ];
        for (algorithm, want) in table {
            assert_eq!(
                digest_file(&path, algorithm).unwrap(),
                want,
                "{algorithm:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_changed_checksum_fails_once_and_an_expected_one_is_compared() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "one").unwrap();
        let changed = ChecksumProbe::new(path.clone(), None, None);
        let expect = ChecksumProbe::new(
            path.clone(),
            None,
            Some("F97C5D29941BFB1B2FDAB0874906AB82".into()),
        );
        assert!(changed.run().await.is_ok());
        assert!(
            expect.run().await.is_ok(),
            "md5 of 'one', picked by its length"
        );
        std::fs::write(&path, "two").unwrap();
        let o = changed.run().await;
        assert!(!o.is_ok() && o.reason.contains("changed from"), "{o:?}");
        assert!(changed.run().await.is_ok());
        let failed = expect.run().await;
        assert!(!failed.is_ok());
        // The digest of what is there now, for status, pass or fail.
        assert_eq!(
            failed.text(Text::ChecksumMd5),
            Some(digest_file(&path, HashAlgorithm::Md5).unwrap().as_str())
        );
    }

    #[tokio::test]
    async fn a_missing_file_is_an_error_not_a_panic() {
        let probe = ChecksumProbe::new("/nonexistent/x".into(), Some(HashAlgorithm::Sha1), None);
        assert_eq!(probe.run().await.status, Status::Error);
    }
}
