//! The mutations of one namespace, one module each. They run inside the
//! namespace's actor, one at a time; each commits to the store first and
//! then swaps in a new view (invariants 1–3 of docs/ARCHITECTURE.md), and returns what
//! must happen next (`Effects`: relink the namespaces that import
//! `__builtins__`, reload after a revision conflict, wake code generation)
//! for the actor to carry out. `check` changes nothing and runs anywhere.

mod check;
mod effects;
mod namespace;
mod promote;
mod publish;
mod rollback;

pub use check::{CheckOutcome, check};
pub use effects::{Applied, Effects, Failed};
pub use namespace::{delete_namespace, reload, update_namespace, validate_settings};
pub use promote::{PromoteOutcome, PromotedSchema, promote, relink_with_builtins};
pub use publish::{PublishOutcome, PublishRequest, publish, validate_sources};
pub use rollback::{RollbackOutcome, discard, rollback};
