//! Services: each under a cluster; one is deleted only once its pools are.

use kit::db::{Db, DbConn};
use kit::Page;
use wire::orchestrator::{Pool, Service};

use super::clusters::CLUSTERS;
use crate::error::Error;
use crate::records::{self, Paged, Records};
use crate::store;

pub static SERVICES: Records<Service> = Records {
    name: "service",
    load: store::service,
    holders: &[pools_left],
    delete: store::delete_service,
};

fn pools_left(c: &mut DbConn, id: i64) -> Result<(), Error> {
    let pools = store::count_pools(c, id)?;
    records::still_has("service", id, pools, "pool(s): delete them first")
}

/// Creates `service` (its `id` is ignored) under its cluster; returns its id.
pub async fn create(db: &Db, service: Service) -> Result<i64, Error> {
    let cluster_id = service.cluster_id;
    CLUSTERS
        .create_child(db, "cluster_id", cluster_id, move |c| {
            store::insert_service(c, &service)
        })
        .await
}

/// The services of cluster `id`.
pub async fn of_cluster(db: &Db, id: i64, page: Page) -> Result<Paged<Service>, Error> {
    CLUSTERS.children(db, id, page, store::services_page).await
}

/// The pools of service `id`.
pub async fn pools(db: &Db, id: i64, page: Page) -> Result<Paged<Pool>, Error> {
    SERVICES.children(db, id, page, store::pools_page).await
}
