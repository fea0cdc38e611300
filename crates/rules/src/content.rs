//! The content shipped inside the binary (`content/` at the repository root).

include!(concat!(env!("OUT_DIR"), "/content.rs"));

/// The shipped content files: (path under `content/`, text).
pub fn builtin_files() -> &'static [(&'static str, &'static str)] {
    FILES
}
