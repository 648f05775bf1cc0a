//! Input limits, checked before anything reaches the compiler or the store.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Most files in one publish.
    pub max_files: usize,
    /// Largest single source file, in bytes.
    pub max_file_bytes: usize,
    /// Largest request body, in bytes (enforced by the HTTP layer, and by
    /// the core on the sum of the sources).
    pub max_request_bytes: usize,
    /// Largest `page_size` of a list (and the page size when none is asked).
    pub max_page_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_files: 1000,
            max_file_bytes: 8 * 1024 * 1024,
            max_request_bytes: 32 * 1024 * 1024,
            max_page_size: 1000,
        }
    }
}
