//! Where the rules crate's tests and benchmarks find the shared test material.

use std::path::{Path, PathBuf};

/// `../shared/testdata` beside the repository; panics with where it was looked for
/// when it is missing, so that a test needing it fails rather than passes empty.
pub fn shared_testdata() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata");
    assert!(
        dir.is_dir(),
        "the shared test material is missing: expected it at {}",
        dir.display()
    );
    dir
}
