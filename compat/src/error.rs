/// Why a check could not be done. Breaking changes are not errors: they are
/// returned as [`Violation`](crate::Violation)s.
#[derive(Debug, thiserror::Error)]
pub enum CompatError {
    /// The bytes are not an encoded `FileDescriptorSet`.
    #[error("cannot decode file descriptor set: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The image is inconsistent (e.g. two files with the same name).
    #[error("invalid image: {0}")]
    InvalidImage(String),
    /// A policy names a rule or category that is not registered.
    #[error("unknown rule or category {0:?}")]
    UnknownRule(String),
    /// A rule registered twice.
    #[error("rule {0:?} is already registered")]
    DuplicateRule(String),
    /// A buf.yaml could not be read.
    #[error("invalid buf.yaml: {0}")]
    Config(String),
    /// A rule could not evaluate the images.
    #[error("rule {rule} failed: {message}")]
    Rule {
        /// The rule ID.
        rule: String,
        /// What went wrong.
        message: String,
    },
}
