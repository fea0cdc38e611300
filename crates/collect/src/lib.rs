//! Collect: the first stage of the pipeline. It finds inputs (files, directories,
//! stdin), opens them (transparently un-gzipping), and cuts byte streams into records
//! (lines with a length cap, blocks of whole lines, or RFC 6587 octet-counted frames)
//! without ever holding a whole input in memory.
//!
//! It does not interpret records: that is the job of `dozor-formats`.

mod blocks;
mod error;
mod framing;
mod input;

pub use blocks::{BlockRead, LineBlocks};
pub use error::CollectError;
pub use framing::{DEFAULT_MAX_RECORD, Line, LineReader, OctetCounted};
pub use input::{Input, Opened, expand_inputs};
