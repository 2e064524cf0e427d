//! Compute drivers: what actually gives an instance a place to run.
//!
//! The lifecycle (see `portal`) decides which transitions are allowed and records them; a
//! driver makes them true. Every driver method runs inside the lifecycle's own database
//! transaction (`Db::write`), so a driver that keeps its state in the portal's database (the
//! host pool) commits or rolls back together with the instance row. A driver that calls a
//! remote API (libvirt, a cloud) would do its call there too, and must make it idempotent:
//! the transaction can still roll back after the call returned.

use kit::db::DbConn;

use crate::error::Error;
use crate::store::{self, InstanceRow};

/// Where a new instance was placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    /// The host-pool row the instance holds a slot of (None for drivers without one).
    pub host_id: Option<i64>,
    /// The address users and the orchestrator reach the instance at.
    pub address: String,
    /// The VDI (SPICE) port, when the driver has one.
    pub vdi_port: Option<i32>,
}

/// A power action on a placed instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    Start,
    Stop,
    Reboot,
}

pub trait ComputeDriver: Send + Sync + 'static {
    /// A short name for logs and docs.
    fn name(&self) -> &'static str;

    /// Finds room for a new instance; `Error::NoCapacity` when there is none.
    fn place(&self, conn: &mut DbConn) -> Result<Placement, Error>;

    /// Starts, stops or reboots a placed instance.
    fn power(&self, conn: &mut DbConn, instance: &InstanceRow, action: Power) -> Result<(), Error>;

    /// Gives back what `place` took (the instance is being deleted).
    fn release(&self, conn: &mut DbConn, instance: &InstanceRow) -> Result<(), Error>;
}

/// The first driver: an inventory of real hosts (address, SSH port, capacity) registered by an
/// admin. An instance is a leased slot of a host; its address is the host's. Power actions have
/// nothing to do on a leased host (the machine is the tenant's while leased); they are recorded
/// by the lifecycle only.
pub struct HostPool;

/// How many candidate hosts one placement looks at.
const CANDIDATES: i64 = 1000;

impl ComputeDriver for HostPool {
    fn name(&self) -> &'static str {
        "host-pool"
    }

    fn place(&self, conn: &mut DbConn) -> Result<Placement, Error> {
        // Candidates come from this transaction's snapshot, which may be stale under
        // concurrency; `take_slot` re-checks on the current row, so a host that filled up
        // meanwhile is skipped and the next is tried. Lowest id first: every transaction locks
        // host rows in the same order, so concurrent creates cannot deadlock on MySQL.
        for host in store::hosts_with_free_slots(conn, CANDIDATES)? {
            if store::take_slot(conn, host.id)? {
                return Ok(Placement {
                    host_id: Some(host.id),
                    address: host.address,
                    vdi_port: None,
                });
            }
        }
        Err(Error::NoCapacity(
            "No free host: every host of the pool is at capacity".into(),
        ))
    }

    fn power(
        &self,
        _conn: &mut DbConn,
        _instance: &InstanceRow,
        _action: Power,
    ) -> Result<(), Error> {
        Ok(())
    }

    fn release(&self, conn: &mut DbConn, instance: &InstanceRow) -> Result<(), Error> {
        if let Some(host_id) = instance.host_id {
            store::release_slot(conn, host_id)?;
        }
        Ok(())
    }
}
