//! Key files: a protobuf `PrivateKey`, the format go-libp2p, rust-libp2p and js-libp2p write.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::{Error, Keypair};

/// Larger than any valid key file (an 8192-bit RSA key is under 5 KiB); anything bigger is
/// refused before it is read into memory.
const MAX_KEY_FILE_LEN: u64 = 16 * 1024;

impl Keypair {
    /// Loads a key file holding a protobuf-encoded `PrivateKey`.
    ///
    /// Errors name the file and say what is wrong: unreadable, too large, PEM or text instead
    /// of binary protobuf, a public key, or an invalid key of its type.
    pub fn load(path: impl AsRef<Path>) -> Result<Keypair, Error> {
        let path = path.as_ref();
        let io_error = |error| Error::KeyFileIo {
            path: path.to_owned(),
            error,
        };
        let format_error = |reason: String| Error::KeyFileFormat {
            path: path.to_owned(),
            reason,
        };
        let len = fs::metadata(path).map_err(io_error)?.len();
        if len > MAX_KEY_FILE_LEN {
            return Err(format_error(format!(
                "{len} bytes is too large for a key file (at most {MAX_KEY_FILE_LEN})"
            )));
        }
        let bytes = zeroize::Zeroizing::new(fs::read(path).map_err(io_error)?);
        if bytes.is_empty() {
            return Err(format_error("the file is empty".into()));
        }
        if bytes.starts_with(b"-----BEGIN") {
            return Err(format_error(
                "the file is PEM text; expected a binary protobuf PrivateKey".into(),
            ));
        }
        Keypair::from_protobuf_encoding(&bytes).map_err(|error| Error::KeyFile {
            path: path.to_owned(),
            error: Box::new(error),
        })
    }

    /// Saves the key as a protobuf `PrivateKey` to a new file readable only by its owner.
    ///
    /// Never overwrites: an existing file is an error, so a key cannot be lost by accident.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), Error> {
        let path = path.as_ref();
        let io_error = |error| Error::KeyFileIo {
            path: path.to_owned(),
            error,
        };
        let encoded = self.to_protobuf_encoding()?;
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(path).map_err(io_error)?;
        file.write_all(&encoded).map_err(io_error)?;
        file.sync_all().map_err(io_error)
    }
}
