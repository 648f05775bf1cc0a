//! Compatibility engine (in progress).
