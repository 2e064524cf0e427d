//! Pools: each under a service; one is deleted only once it has no node and no schedule.

use kit::db::{Db, DbConn};
use wire::orchestrator::Pool;

use super::services::SERVICES;
use crate::error::Error;
use crate::records::{self, Records};
use crate::store;

pub static POOLS: Records<Pool> = Records {
    name: "pool",
    load: store::pool,
    holders: &[nodes_left, schedules_left],
    delete: store::delete_pool,
};

fn nodes_left(c: &mut DbConn, id: i64) -> Result<(), Error> {
    let nodes = store::count_nodes(c, id)?;
    records::still_has("pool", id, nodes, "node(s): remove them first")
}

fn schedules_left(c: &mut DbConn, id: i64) -> Result<(), Error> {
    let schedules = store::schedules::count_schedules(c, id)?;
    records::still_has("pool", id, schedules, "schedule(s)")
}

/// What an update changes; `None` keeps the field. The service of a pool never changes.
pub struct PoolChange {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub vm_type: Option<i64>,
    pub sd_id: Option<i64>,
    pub expand_tpl: Option<i64>,
    pub shrink_tpl: Option<i64>,
    pub deploy_tpl: Option<i64>,
}

/// Creates `pool` (its `id` and `node_count` are ignored) under its service; returns its id.
pub async fn create(db: &Db, pool: Pool) -> Result<i64, Error> {
    let service_id = pool.service_id;
    SERVICES
        .create_child(db, "service_id", service_id, move |c| {
            store::insert_pool(c, &pool)
        })
        .await
}

pub async fn update(db: &Db, id: i64, change: PoolChange) -> Result<(), Error> {
    let apply = move |pool: &mut Pool| {
        records::set_given(&mut pool.name, change.name);
        records::set_given(&mut pool.desc, change.desc);
        records::set_given(&mut pool.vm_type, change.vm_type);
        records::set_given(&mut pool.sd_id, change.sd_id);
        records::set_given(&mut pool.expand_tpl, change.expand_tpl);
        records::set_given(&mut pool.shrink_tpl, change.shrink_tpl);
        records::set_given(&mut pool.deploy_tpl, change.deploy_tpl);
    };
    POOLS.update(db, id, apply, store::update_pool).await
}
