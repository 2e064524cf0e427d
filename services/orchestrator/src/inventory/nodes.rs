//! The nodes of a pool: listed, added and removed by hand, and found by IP. An IP is in one
//! pool at most; a node a task is acting on leaves through that task, not by hand.

use kit::db::Db;
use kit::Page;
use wire::orchestrator::{Node, NODE_FAILED, NODE_MANUAL, NODE_SUCCESS};

use super::pools::POOLS;
use crate::error::Error;
use crate::records::Paged;
use crate::store;

/// The nodes of pool `id`.
pub async fn of_pool(db: &Db, id: i64, page: Page) -> Result<Paged<Node>, Error> {
    POOLS.children(db, id, page, store::nodes_page).await
}

/// Adds `ips` to pool `id` as manual nodes in service, all or none; returns their ids.
pub async fn add(db: &Db, id: i64, ips: Vec<String>) -> Result<Vec<i64>, Error> {
    db.write(move |c| {
        POOLS.found(c, id)?;
        if let Some((ip, pool)) = store::pools_of_ips(c, &ips)?.into_iter().next() {
            return Err(Error::Conflict(format!(
                "IP {ip} is already in pool {pool}; nothing was added"
            )));
        }
        ips.iter()
            .map(|ip| store::insert_node(c, id, ip, NODE_SUCCESS, NODE_MANUAL).map_err(Error::from))
            .collect::<Result<Vec<i64>, Error>>()
    })
    .await
}

/// Removes `ips` from pool `id`, all or none.
pub async fn remove(db: &Db, id: i64, ips: Vec<String>) -> Result<(), Error> {
    db.write(move |c| {
        POOLS.found(c, id)?;
        let here: Vec<String> = store::pools_of_ips(c, &ips)?
            .into_iter()
            .filter(|(_, pool)| *pool == id)
            .map(|(ip, _)| ip)
            .collect();
        if let Some(absent) = ips.iter().find(|ip| !here.contains(ip)) {
            return Err(Error::NotFound(format!(
                "IP {absent} is not in pool {id}; nothing was removed"
            )));
        }
        // A node a task is acting on leaves through that task (or after it), not by hand.
        let busy = store::flows::pool_nodes(c, id)?
            .into_iter()
            .find(|n| ips.contains(&n.ip) && n.status != NODE_SUCCESS && n.status != NODE_FAILED);
        if let Some(n) = busy {
            return Err(Error::Conflict(format!(
                "node {} ({}) is {} with task {}: nothing was removed",
                n.ip, n.id, n.state, n.task_id
            )));
        }
        store::delete_nodes(c, id, &ips)?;
        Ok(())
    })
    .await
}

/// `(ip, pool id)` of those of `ips` that are in a pool.
pub async fn pools_of(db: &Db, ips: Vec<String>) -> Result<Vec<(String, i64)>, Error> {
    db.read(move |c| store::pools_of_ips(c, &ips).map_err(Error::from))
        .await
}
