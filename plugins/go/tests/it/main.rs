//! Integration tests of protoreg-plugin-go: the generators against the
//! reference `protoc-gen-go` / `protoc-gen-go-grpc` binaries on the same
//! request bytes, and the generated Go compiled and run with Go.

mod compare;
mod corpus;
mod external_corpus;
mod go_roundtrip;
mod tools;
