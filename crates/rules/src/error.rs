//! Errors of the detect stage.

/// Why a rule, list or mapping could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The YAML is not a valid Sigma document.
    #[error("not a valid Sigma document: {0}")]
    Parse(String),
    /// The rule uses something the engine does not implement exactly.
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The rule is valid Sigma but wrong in itself (bad regex, unknown detection name, ...).
    #[error("invalid rule: {0}")]
    Invalid(String),
    /// A list, mapping or test file is malformed.
    #[error("bad content file {file}: {reason}")]
    Content {
        /// The file.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
}

pub(crate) fn unsupported(what: impl Into<String>) -> RuleError {
    RuleError::Unsupported(what.into())
}

pub(crate) fn invalid(what: impl Into<String>) -> RuleError {
    RuleError::Invalid(what.into())
}
