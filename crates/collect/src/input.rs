//! Inputs: files (plain or gzip), directories (recursive) and stdin.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use jiff::Timestamp;

use crate::error::CollectError;

/// Where records come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A regular file.
    File(PathBuf),
    /// Standard input.
    Stdin,
}

impl Input {
    /// The name to show in statistics and rejects.
    pub fn display_name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::Stdin => "-".to_owned(),
        }
    }

    /// Opens the input, decompressing gzip when the content starts with its magic bytes.
    pub fn open(&self) -> io::Result<Opened> {
        match self {
            Input::File(path) => {
                let file = File::open(path)?;
                let modified = file
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|m| Timestamp::try_from(m).ok());
                Opened::new(self.display_name(), Box::new(file), modified)
            }
            Input::Stdin => Opened::new("-".to_owned(), Box::new(io::stdin()), None),
        }
    }
}

/// An opened input, ready to read.
pub struct Opened {
    /// The input's display name.
    pub name: String,
    /// The decoded bytes.
    pub reader: Box<dyn BufRead + Send>,
    /// Whether the bytes were gzip-compressed.
    pub gzip: bool,
    /// When the file was last written, the best guess of when its records were received.
    pub modified: Option<Timestamp>,
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

impl Opened {
    fn new(
        name: String,
        raw: Box<dyn Read + Send>,
        modified: Option<Timestamp>,
    ) -> io::Result<Self> {
        let mut buffered = BufReader::with_capacity(256 * 1024, raw);
        let gzip = buffered.fill_buf()?.starts_with(&GZIP_MAGIC);
        let reader: Box<dyn BufRead + Send> = if gzip {
            Box::new(BufReader::with_capacity(
                256 * 1024,
                MultiGzDecoder::new(buffered),
            ))
        } else {
            Box::new(buffered)
        };
        Ok(Self {
            name,
            reader,
            gzip,
            modified,
        })
    }
}

/// Turns user-given paths into inputs: `-` is stdin, a directory is walked recursively
/// (files in name order, hidden entries skipped), a file is itself.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<Input>, CollectError> {
    let mut inputs = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            inputs.push(Input::Stdin);
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|source| CollectError::Path {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            walk(path, &mut inputs)?;
        } else {
            inputs.push(Input::File(path.clone()));
        }
    }
    Ok(inputs)
}

fn walk(dir: &Path, inputs: &mut Vec<Input>) -> Result<(), CollectError> {
    let entries = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in entries {
        let entry = entry.map_err(|e| CollectError::Walk {
            path: e.path().unwrap_or(dir).to_path_buf(),
            message: e.to_string(),
        })?;
        if entry.file_type().is_file() {
            inputs.push(Input::File(entry.into_path()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn gzip_is_detected_and_decoded() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("a.log.gz");
        let mut gz = flate2::write::GzEncoder::new(File::create(&path)?, Default::default());
        gz.write_all(b"hello\nworld\n")?;
        gz.finish()?;
        let mut opened = Input::File(path).open()?;
        assert!(opened.gzip);
        let mut text = String::new();
        opened.reader.read_to_string(&mut text)?;
        assert_eq!(text, "hello\nworld\n");
        Ok(())
    }

    #[test]
    fn directories_are_walked_in_order_without_hidden_files()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir(dir.path().join("sub"))?;
        std::fs::write(dir.path().join("sub/b.log"), "b")?;
        std::fs::write(dir.path().join("a.log"), "a")?;
        std::fs::write(dir.path().join(".hidden"), "h")?;
        let inputs = expand_inputs(&[dir.path().to_path_buf()])?;
        let names: Vec<_> = inputs
            .iter()
            .map(|i| {
                i.display_name()
                    .rsplit('/')
                    .next()
                    .unwrap_or_default()
                    .to_owned()
            })
            .collect();
        assert_eq!(names, ["a.log", "b.log"]);
        Ok(())
    }

    #[test]
    fn a_missing_path_is_an_error() {
        let err = expand_inputs(&[PathBuf::from("/no/such/path")]);
        assert!(matches!(err, Err(CollectError::Path { .. })));
    }
}
