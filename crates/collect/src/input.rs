//! Inputs: files (plain or gzip), zip archives (each member an input), directories
//! (recursive) and stdin.

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
    /// One member of a zip archive.
    ZipMember {
        /// The archive.
        archive: PathBuf,
        /// The member's name inside it.
        member: String,
    },
    /// Standard input.
    Stdin,
}

impl Input {
    /// The name to show in statistics and rejects.
    pub fn display_name(&self) -> String {
        match self {
            Input::File(path) => path.display().to_string(),
            Input::ZipMember { archive, member } => format!("{}:{member}", archive.display()),
            Input::Stdin => "-".to_owned(),
        }
    }

    /// Opens the input, decompressing gzip when the content starts with its magic bytes.
    pub fn open(&self) -> io::Result<Opened> {
        match self {
            Input::File(path) => {
                let file = File::open(path)?;
                let modified = modified(&file);
                Opened::new(self.display_name(), Box::new(file), modified)
            }
            Input::ZipMember { archive, member } => {
                let file = File::open(archive)?;
                let modified = modified(&file);
                let mut zip = zip::ZipArchive::new(file).map_err(io::Error::other)?;
                let mut entry = zip.by_name(member).map_err(io::Error::other)?;
                let mut bytes = Vec::with_capacity(
                    usize::try_from(entry.size())
                        .unwrap_or(0)
                        .min(MAX_MEMBER_PREALLOC),
                );
                entry
                    .by_ref()
                    .take(MAX_MEMBER_BYTES)
                    .read_to_end(&mut bytes)?;
                Opened::new(
                    self.display_name(),
                    Box::new(io::Cursor::new(bytes)),
                    modified,
                )
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
const ZIP_MAGIC: [u8; 4] = *b"PK\x03\x04";

/// The largest zip member read. A member is decompressed into memory (a zip reader
/// needs to seek), so this bounds the memory one input can take.
const MAX_MEMBER_BYTES: u64 = 4 * 1024 * 1024 * 1024;
const MAX_MEMBER_PREALLOC: usize = 256 * 1024 * 1024;

fn modified(file: &File) -> Option<Timestamp> {
    file.metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| Timestamp::try_from(m).ok())
}

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
/// (files in name order, hidden entries skipped), a zip archive is each of its member
/// files, any other file is itself.
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
            push_file(path.clone(), &mut inputs)?;
        }
    }
    Ok(inputs)
}

/// Adds a file, or the members of a zip archive.
fn push_file(path: PathBuf, inputs: &mut Vec<Input>) -> Result<(), CollectError> {
    let mut magic = [0u8; 4];
    let is_zip = File::open(&path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && magic == ZIP_MAGIC;
    if !is_zip {
        inputs.push(Input::File(path));
        return Ok(());
    }
    let file = File::open(&path).map_err(|source| CollectError::Path {
        path: path.clone(),
        source,
    })?;
    let zip = zip::ZipArchive::new(file).map_err(|e| CollectError::Walk {
        path: path.clone(),
        message: format!("bad zip archive: {e}"),
    })?;
    let mut members: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .filter(|name| !name.ends_with('/'))
        .map(|name| name.into_owned())
        .collect();
    members.sort();
    for member in members {
        inputs.push(Input::ZipMember {
            archive: path.clone(),
            member,
        });
    }
    Ok(())
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
            push_file(entry.into_path(), inputs)?;
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
    fn zip_members_are_inputs() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("set.zip");
        let mut zip = zip::ZipWriter::new(File::create(&path)?);
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        zip.start_file("b.json", options)?;
        zip.write_all(b"{\"b\": 1}\n")?;
        zip.start_file("a.json", options)?;
        zip.write_all(b"{\"a\": 1}\n")?;
        zip.finish()?;
        let inputs = expand_inputs(std::slice::from_ref(&path))?;
        assert_eq!(inputs.len(), 2);
        assert!(inputs[0].display_name().ends_with("set.zip:a.json"));
        let mut text = String::new();
        inputs[1].open()?.reader.read_to_string(&mut text)?;
        assert_eq!(text, "{\"b\": 1}\n");
        Ok(())
    }

    #[test]
    fn a_missing_path_is_an_error() {
        let err = expand_inputs(&[PathBuf::from("/no/such/path")]);
        assert!(matches!(err, Err(CollectError::Path { .. })));
    }
}
