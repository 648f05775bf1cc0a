//! What `NamespaceActor` (its state is in `state`), the one writer of a
//! namespace (invariant 2 of docs/ARCHITECTURE.md), does: its messages, each running one
//! `ops` mutation, and the carrying out of the `ops::Effects` a mutation
//! returns.
//!
//! Every handler returns an `AtomicResponse`, so the actor finishes one
//! mutation (store commit and view swap) before it looks at the next
//! message. Reads never come here: they load the view from its `ArcSwap`.

use std::sync::Arc;

use actix::prelude::*;
use serde_json::{Map, Value};

use crate::error::{RegistryError, Result};
use crate::ids::SchemaId;
use crate::ops::{
    self, Applied, Effects, PromoteOutcome, PublishOutcome, PublishRequest, RollbackOutcome,
};
use crate::snapshot::NamespaceView;
use crate::state::{NamespaceActor, Shared};

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
    ($msg:ty, $ret:ty, |$shared:ident, $entry:ident, $me:ident, $m:ident| $body:expr) => {
        impl Handler<$msg> for NamespaceActor {
            type Result = AtomicResponse<Self, Result<$ret>>;

            fn handle(&mut self, $m: $msg, ctx: &mut Context<Self>) -> Self::Result {
                let $shared = self.shared.clone();
                let entry = self.entry.upgrade();
                let $me = ctx.address();
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

/// Carries out what a mutation asked for, then hands back its result.
fn carry_out<T>(shared: &Shared, me: &Addr<NamespaceActor>, applied: Applied<T>) -> Result<T> {
    let (result, effects) = match applied {
        Ok((value, effects)) => (Ok(value), effects),
        Err(failed) => (Err(failed.error), failed.effects),
    };
    let Effects {
        relink_dependents,
        reload,
        wake_codegen,
    } = effects;
    if relink_dependents {
        for (name, entry) in shared.entries() {
            if !name.is_builtins()
                && let Some(addr) = entry.actor()
            {
                addr.do_send(RelinkBuiltins);
            }
        }
    }
    if reload {
        // Runs after this message, like any other.
        me.do_send(Reload);
    }
    if wake_codegen {
        shared.codegen_wake.notify_one();
    }
    result
}

serialized_handler!(Publish, PublishOutcome, |shared, entry, me, msg| {
    carry_out(
        &shared,
        &me,
        ops::publish(&shared, &entry.view, msg.0).await,
    )
});
serialized_handler!(Promote, PromoteOutcome, |shared, entry, me, msg| {
    carry_out(
        &shared,
        &me,
        ops::promote(&shared, &entry.view, msg.dry_run).await,
    )
});
serialized_handler!(Discard, Vec<SchemaId>, |shared, entry, me, _msg| {
    carry_out(&shared, &me, ops::discard(&shared, &entry.view).await)
});
serialized_handler!(Rollback, RollbackOutcome, |shared, entry, me, msg| {
    let applied = ops::rollback(&shared, &entry.view, msg.schema, msg.version, msg.force).await;
    carry_out(&shared, &me, applied)
});
serialized_handler!(
    UpdateNamespace,
    Arc<NamespaceView>,
    |shared, entry, me, msg| {
        let applied = ops::update_namespace(&shared, &entry.view, msg.metadata, msg.settings).await;
        carry_out(&shared, &me, applied)
    }
);
serialized_handler!(DeleteNamespace, (), |shared, entry, me, _msg| {
    carry_out(
        &shared,
        &me,
        ops::delete_namespace(&shared, &entry.view).await,
    )
});
serialized_handler!(RelinkBuiltins, (), |shared, entry, _me, _msg| {
    let result = ops::relink_with_builtins(&shared, &entry.view);
    if let Err(err) = &result {
        tracing::error!(namespace = %entry.view.load().info.name, %err, "relinking with new builtins failed; keeping the previous view");
    }
    result
});
serialized_handler!(Reload, (), |shared, entry, _me, _msg| {
    let before = entry.view.load().info.revision;
    ops::reload(&shared, &entry.view).await?;
    let view = entry.view.load();
    if view.info.name.is_builtins() && view.info.revision != before {
        // Another replica changed `__builtins__`: every namespace importing
        // it links against the new files, as after a local promote.
        for (name, other) in shared.entries() {
            if !name.is_builtins()
                && let Some(addr) = other.actor()
            {
                addr.do_send(RelinkBuiltins);
            }
        }
    }
    Ok(())
});
