//! `NamespaceActor`: the one writer of a namespace (DESIGN.md invariant 2).
//!
//! Every handler returns an `AtomicResponse`, so the actor finishes one
//! mutation (store commit and view swap) before it looks at the next
//! message. Reads never come here: they load the view from its `ArcSwap`.

use std::sync::{Arc, Weak};

use actix::prelude::*;
use serde_json::{Map, Value};

use crate::error::{RegistryError, Result};
use crate::ids::SchemaId;
use crate::ops::{self, PromoteOutcome, PublishOutcome, PublishRequest, RollbackOutcome};
use crate::registry::{NamespaceEntry, Shared};
use crate::snapshot::NamespaceView;

pub struct NamespaceActor {
    pub(crate) shared: Arc<Shared>,
    /// Weak, so that a deleted namespace's actor stops once its entry is
    /// gone from the registry (the entry holds the actor's address).
    pub(crate) entry: Weak<NamespaceEntry>,
}

impl Actor for NamespaceActor {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "Result<PublishOutcome>")]
pub struct Publish(pub PublishRequest);

#[derive(Message)]
#[rtype(result = "Result<PromoteOutcome>")]
pub struct Promote {
    pub dry_run: bool,
}

#[derive(Message)]
#[rtype(result = "Result<Vec<SchemaId>>")]
pub struct Discard;

#[derive(Message)]
#[rtype(result = "Result<RollbackOutcome>")]
pub struct Rollback {
    pub schema: SchemaId,
    pub version: i32,
    pub force: bool,
}

#[derive(Message)]
#[rtype(result = "Result<Arc<NamespaceView>>")]
pub struct UpdateNamespace {
    pub metadata: Option<Map<String, Value>>,
    pub settings: Option<Value>,
}

#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct DeleteNamespace;

/// `__builtins__` changed: rebuild the current image against it.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct RelinkBuiltins;

/// Another writer changed the namespace in the store: reload it.
#[derive(Message)]
#[rtype(result = "Result<()>")]
pub struct Reload;

/// Implements a handler that runs one `ops` function to completion before
/// the actor takes its next message.
macro_rules! serialized_handler {
    ($msg:ty, $ret:ty, |$shared:ident, $entry:ident, $m:ident| $body:expr) => {
        impl Handler<$msg> for NamespaceActor {
            type Result = AtomicResponse<Self, Result<$ret>>;

            fn handle(&mut self, $m: $msg, _ctx: &mut Context<Self>) -> Self::Result {
                let $shared = self.shared.clone();
                let entry = self.entry.upgrade();
                AtomicResponse::new(Box::pin(
                    async move {
                        let Some($entry) = entry else {
                            return Err(RegistryError::NotFound("namespace was deleted".into()));
                        };
                        $body
                    }
                    .into_actor(self),
                ))
            }
        }
    };
}

serialized_handler!(Publish, PublishOutcome, |shared, entry, msg| {
    ops::publish(&shared, &entry.view, msg.0).await
});
serialized_handler!(Promote, PromoteOutcome, |shared, entry, msg| {
    ops::promote(&shared, &entry.view, msg.dry_run).await
});
serialized_handler!(Discard, Vec<SchemaId>, |shared, entry, _msg| {
    ops::discard(&shared, &entry.view).await
});
serialized_handler!(Rollback, RollbackOutcome, |shared, entry, msg| {
    ops::rollback(&shared, &entry.view, msg.schema, msg.version, msg.force).await
});
serialized_handler!(UpdateNamespace, Arc<NamespaceView>, |shared, entry, msg| {
    ops::update_namespace(&shared, &entry.view, msg.metadata, msg.settings).await
});
serialized_handler!(DeleteNamespace, (), |shared, entry, _msg| {
    ops::delete_namespace(&shared, &entry.view).await
});
serialized_handler!(RelinkBuiltins, (), |shared, entry, _msg| {
    let result = ops::relink_with_builtins(&shared, &entry.view);
    if let Err(err) = &result {
        tracing::error!(namespace = %entry.view.load().info.name, %err, "relinking with new builtins failed; keeping the previous view");
    }
    result
});
serialized_handler!(Reload, (), |shared, entry, _msg| {
    shared.reload_namespace(&entry).await
});
