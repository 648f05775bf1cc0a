//! Leases: which replica does a unit of background work (an event sink, a
//! webhook subscription, checkpoints, event retention; running code
//! generation jobs carry their own lease columns in `jobs`).
//!
//! A lease row names its holder (this process's [`replica_id`]) and when it
//! expires. [`Store::hold_lease`] takes a lease that is free, expired or
//! already ours; [`Store::renew_leases`] (every quarter of the lease time,
//! see `registry::sync`) pushes the expiry of every lease this process holds,
//! and of its running jobs, forward. A replica that dies stops renewing, so
//! its leases expire and another replica takes them over.
//!
//! Locally a lease counts as held for half the lease time after it was last
//! taken or renewed (measured from before the query), so a process that
//! cannot renew stops working on the unit well before anyone else may take
//! it. Expiry times are written with this process's clock: replicas' clocks
//! must agree to well within the lease time (NTP).
//!
//! On SQLite (one process per database file) the same rows are written; no
//! other process ever competes for them.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::upsert::excluded;
use diesel_async::RunQueryDsl;

use super::schema::{jobs, leases};
use super::{Store, StoreError, now};

/// This process's name as a lease holder and as the origin of change
/// notifications: the process id and 64 random bits.
static REPLICA_ID: LazyLock<String> =
    LazyLock::new(|| format!("{}-{:016x}", std::process::id(), rand::random::<u64>()));

/// This process's replica id (see [`REPLICA_ID`]).
pub fn replica_id() -> &'static str {
    &REPLICA_ID
}

/// The leases this process holds, and until when each counts as held here.
#[derive(Debug)]
pub(crate) struct Leases {
    pub(crate) ttl: Duration,
    held: Mutex<HashMap<String, Instant>>,
}

impl Leases {
    pub(crate) fn new(ttl: Duration) -> Self {
        Leases {
            ttl: ttl.max(Duration::from_millis(100)),
            held: Mutex::new(HashMap::new()),
        }
    }

    fn local_validity(&self, started: Instant) -> Instant {
        started + self.ttl / 2
    }

    fn held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.held.lock().unwrap_or_else(|p| p.into_inner())
    }
}

pub(super) fn expiry(ttl: Duration) -> chrono::NaiveDateTime {
    now() + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::seconds(10))
}

impl Store {
    /// How long a lease lasts without renewal.
    pub fn lease_ttl(&self) -> Duration {
        self.leases.ttl
    }

    /// Whether this process holds the lease `name`, taking it when it is
    /// free, expired, or ours already. `false`: another live replica holds
    /// it; try again later.
    pub async fn hold_lease(&self, name: &str) -> Result<bool, StoreError> {
        let started = Instant::now();
        if self
            .leases
            .held()
            .get(name)
            .is_some_and(|until| *until > started)
        {
            return Ok(true);
        }
        let at = now();
        let expires = expiry(self.leases.ttl);
        let me = replica_id();
        let taken = with_conn!(self, conn => {
            let upsert = diesel::insert_into(leases::table)
                .values((
                    leases::name.eq(name),
                    leases::holder.eq(me),
                    leases::expires_at.eq(expires),
                ))
                .on_conflict(leases::name)
                .do_update()
                .set((
                    leases::holder.eq(excluded(leases::holder)),
                    leases::expires_at.eq(excluded(leases::expires_at)),
                ));
            // ON CONFLICT … DO UPDATE … WHERE: take it only when it is ours
            // or expired.
            Ok::<_, StoreError>(diesel::query_dsl::methods::FilterDsl::filter(
                upsert,
                leases::holder.eq(me).or(leases::expires_at.lt(at)),
            )
                .execute(conn)
                .await?)
        })?;
        let mut held = self.leases.held();
        if taken == 1 {
            held.insert(name.to_owned(), self.leases.local_validity(started));
            Ok(true)
        } else {
            held.remove(name);
            Ok(false)
        }
    }

    /// Pushes the expiry of every lease this process holds (and of the
    /// jobs it runs) one lease time ahead. A lease another replica took
    /// meanwhile (after ours expired) is ours no more.
    pub async fn renew_leases(&self) -> Result<(), StoreError> {
        let started = Instant::now();
        let expires = expiry(self.leases.ttl);
        let me = replica_id();
        let names: Vec<String> = with_conn!(self, conn => {
            diesel::update(jobs::table.filter(jobs::lease_holder.eq(me).and(jobs::status.eq("running"))))
                .set(jobs::lease_expires_at.eq(Some(expires)))
                .execute(conn)
                .await?;
            Ok::<_, StoreError>(diesel::update(leases::table.filter(leases::holder.eq(me)))
                .set(leases::expires_at.eq(expires))
                .returning(leases::name)
                .get_results(conn)
                .await?)
        })?;
        let until = self.leases.local_validity(started);
        let mut held = self.leases.held();
        held.retain(|name, _| names.contains(name));
        for name in names {
            held.insert(name, until);
        }
        Ok(())
    }

    /// Gives up every lease this process holds (at shutdown), so that
    /// another replica takes the work over at once.
    pub async fn release_leases(&self) -> Result<(), StoreError> {
        let me = replica_id();
        self.leases.held().clear();
        with_conn!(self, conn => {
            diesel::delete(leases::table.filter(leases::holder.eq(me)))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Marks every lease and job lease held by another replica as expired,
    /// so that this process takes the work over at once. Only for a process
    /// that knows it is the database's only user (see
    /// `StoreConfig::sole_process`): every other holder is a process that
    /// died. Returns how many leases and job leases it expired.
    pub(super) async fn expire_foreign_leases(&self) -> Result<usize, StoreError> {
        let past = now() - chrono::Duration::seconds(1);
        let me = replica_id();
        with_conn!(self, conn => {
            let leases = diesel::update(leases::table.filter(leases::holder.ne(me)))
                .set(leases::expires_at.eq(past))
                .execute(conn)
                .await?;
            let jobs = diesel::update(jobs::table.filter(
                jobs::lease_holder.is_not_null().and(jobs::lease_holder.ne(Some(me))),
            ))
                .set(jobs::lease_expires_at.eq(Some(past)))
                .execute(conn)
                .await?;
            Ok(leases + jobs)
        })
    }

    /// Who holds the lease `name` (if anyone) and until when.
    pub async fn lease_holder(
        &self,
        name: &str,
    ) -> Result<Option<(String, chrono::NaiveDateTime)>, StoreError> {
        with_conn!(self, conn => {
            Ok(leases::table
                .filter(leases::name.eq(name))
                .select((leases::holder, leases::expires_at))
                .first(conn)
                .await
                .optional()?)
        })
    }
}

#[cfg(test)]
impl Store {
    /// Makes every lease and job lease belong to a replica that died a
    /// while ago (another holder, expired): what a crashed process leaves.
    /// (In a test, every registry of the process shares one replica id.)
    pub async fn expire_leases_for_tests(&self) -> Result<(), StoreError> {
        let past = now() - chrono::Duration::seconds(1);
        let dead = "a-dead-replica";
        self.leases.held().clear();
        with_conn!(self, conn => {
            diesel::update(leases::table)
                .set((leases::holder.eq(dead), leases::expires_at.eq(past)))
                .execute(conn)
                .await?;
            diesel::update(jobs::table.filter(jobs::lease_expires_at.is_not_null()))
                .set((jobs::lease_holder.eq(Some(dead)), jobs::lease_expires_at.eq(Some(past))))
                .execute(conn)
                .await?;
            Ok(())
        })
    }

    /// Gives the lease `name` to `holder` until `expires_at`, as another
    /// replica would have taken it.
    pub async fn give_lease_for_tests(
        &self,
        name: &str,
        holder: &str,
        expires_at: chrono::NaiveDateTime,
    ) -> Result<(), StoreError> {
        self.leases.held().remove(name);
        with_conn!(self, conn => {
            diesel::insert_into(leases::table)
                .values((
                    leases::name.eq(name),
                    leases::holder.eq(holder),
                    leases::expires_at.eq(expires_at),
                ))
                .on_conflict(leases::name)
                .do_update()
                .set((leases::holder.eq(holder), leases::expires_at.eq(expires_at)))
                .execute(conn)
                .await?;
            Ok(())
        })
    }
}
