//! Where the master keys come from: `LATCHKEY_MASTER_KEY` (one or more, comma-separated; the
//! first seals), or `LATCHKEY_MASTER_KEY_FILE` (one key per line), or — when neither is set — a
//! key generated once into `<data dir>/master.key` (mode 0600), which must then be backed up:
//! without it no stored credential can be opened.

use std::path::{Path, PathBuf};

use secrecy::ExposeSecret;

use super::{Keyring, MasterKey, VaultError};

/// Where the keyring came from (for the start-up log line; never a key).
#[derive(Debug, PartialEq, Eq)]
pub enum Source {
    /// `LATCHKEY_MASTER_KEY`.
    Environment,
    /// Read from this file.
    File(PathBuf),
    /// Generated now into this file.
    Generated(PathBuf),
}

/// Why no keyring could be made.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// A configured key does not parse.
    #[error("{origin}: {source}")]
    Invalid {
        /// Where it was read from.
        origin: String,
        /// What is wrong with it.
        source: VaultError,
    },
    /// The key file cannot be read or written.
    #[error("{0}")]
    Io(String),
}

fn parse_all(text: &str, origin: &str) -> Result<Keyring, MasterKeyError> {
    let keys = text
        .split([',', '\n'])
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(MasterKey::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| MasterKeyError::Invalid {
            origin: origin.to_owned(),
            source,
        })?;
    Keyring::new(keys).map_err(|source| MasterKeyError::Invalid {
        origin: origin.to_owned(),
        source,
    })
}

/// The keyring from `env` (the variable's value), else `file`, else the generated key file in
/// `data_dir` (made on first use).
pub fn resolve(
    env: Option<&str>,
    file: Option<&Path>,
    data_dir: &Path,
) -> Result<(Keyring, Source), MasterKeyError> {
    if let Some(value) = env.filter(|v| !v.trim().is_empty()) {
        return Ok((
            parse_all(value, "LATCHKEY_MASTER_KEY")?,
            Source::Environment,
        ));
    }
    let (path, configured) = match file {
        Some(path) => (path.to_path_buf(), true),
        None => (data_dir.join("master.key"), false),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            let origin = path.display().to_string();
            Ok((parse_all(&text, &origin)?, Source::File(path)))
        }
        Err(e) if configured || e.kind() != std::io::ErrorKind::NotFound => Err(
            MasterKeyError::Io(format!("cannot read {}: {e}", path.display())),
        ),
        Err(_) => {
            crate::files::create_private_dir(data_dir)
                .map_err(|e| MasterKeyError::Io(format!("cannot create data dir: {e}")))?;
            let key = MasterKey::generate();
            crate::files::write_private(&path, &format!("{}\n", key.to_text().expose_secret()))
                .map_err(|e| MasterKeyError::Io(format!("cannot write {}: {e}", path.display())))?;
            let ring = Keyring::new(vec![key]).map_err(|source| MasterKeyError::Invalid {
                origin: path.display().to_string(),
                source,
            })?;
            Ok((ring, Source::Generated(path)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_generated_once_into_the_data_dir_and_read_back() {
        let dir = tempfile::tempdir().expect("dir");
        let (first, source) = resolve(None, None, dir.path()).expect("generated");
        let path = dir.path().join("master.key");
        assert_eq!(source, Source::Generated(path.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let (again, source) = resolve(None, None, dir.path()).expect("read");
        assert_eq!(source, Source::File(path));
        assert_eq!(again.current().id(), first.current().id());
    }

    #[test]
    fn the_environment_wins_lists_keys_newest_first_and_bad_keys_stop_the_start() {
        let dir = tempfile::tempdir().expect("dir");
        let (a, b) = (MasterKey::generate(), MasterKey::generate());
        let list = format!(
            "{},{}",
            a.to_text().expose_secret(),
            b.to_text().expose_secret()
        );
        let (ring, source) = resolve(Some(&list), None, dir.path()).expect("env");
        assert_eq!(source, Source::Environment);
        assert_eq!(ring.key_ids(), [a.id(), b.id()]);
        assert!(!dir.path().join("master.key").exists(), "nothing generated");
        let bad = resolve(Some("not-a-key"), None, dir.path());
        assert!(matches!(bad, Err(MasterKeyError::Invalid { .. })));
        let missing = resolve(None, Some(&dir.path().join("nope.key")), dir.path());
        assert!(
            matches!(missing, Err(MasterKeyError::Io(_))),
            "a named file must exist"
        );
    }
}
