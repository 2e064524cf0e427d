//! Which cluster a record belongs to (issue #13): a role granted on a cluster reaches its
//! services, their pools and the pools' nodes and schedules. Each answer is `None` when the
//! record does not exist (the caller's request then gets the usual 404 or 400).

use std::collections::HashMap;

use kit::db::Db;

use crate::error::Error;
use crate::store;

/// The cluster of service `id`.
pub async fn of_service(db: &Db, id: i64) -> Result<Option<i64>, Error> {
    db.read(move |c| Ok(store::service(c, id)?.map(|s| s.cluster_id)))
        .await
}

/// The cluster of pool `id` (through its service).
pub async fn of_pool(db: &Db, id: i64) -> Result<Option<i64>, Error> {
    db.read(move |c| pool_cluster(c, id)).await
}

/// The cluster of schedule `id` (through its pool).
pub async fn of_schedule(db: &Db, id: i64) -> Result<Option<i64>, Error> {
    db.read(move |c| match store::schedules::schedule(c, id)? {
        Some(row) => pool_cluster(c, row.pool_id),
        None => Ok(None),
    })
    .await
}

/// The cluster of each of `pools` that exists.
pub async fn of_pools(db: &Db, pools: Vec<i64>) -> Result<HashMap<i64, i64>, Error> {
    db.read(move |c| {
        let mut clusters = HashMap::new();
        for &id in &pools {
            if let Some(cluster) = pool_cluster(c, id)? {
                clusters.insert(id, cluster);
            }
        }
        Ok(clusters)
    })
    .await
}

fn pool_cluster(c: &mut kit::db::DbConn, id: i64) -> Result<Option<i64>, Error> {
    let Some(pool) = store::pool(c, id)? else {
        return Ok(None);
    };
    Ok(store::service(c, pool.service_id)?.map(|s| s.cluster_id))
}
