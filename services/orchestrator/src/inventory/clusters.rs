//! Clusters: the top of the tree; one is deleted only once its services are.

use kit::db::{Db, DbConn};
use kit::Page;
use wire::orchestrator::Cluster;

use crate::error::Error;
use crate::records::{self, Paged, Records};
use crate::store;

pub static CLUSTERS: Records<Cluster> = Records {
    name: "cluster",
    load: store::cluster,
    holders: &[services_left],
    delete: store::delete_cluster,
};

fn services_left(c: &mut DbConn, id: i64) -> Result<(), Error> {
    let services = store::count_services(c, id)?;
    records::still_has("cluster", id, services, "service(s): delete them first")
}

/// What an update changes; `None` keeps the field.
pub struct ClusterChange {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub biz: Option<String>,
}

/// A page of the clusters; `only` limits it to these (a caller holding a role on some
/// clusters only), `None` lists every one.
pub async fn list(db: &Db, page: Page, only: Option<Vec<i64>>) -> Result<Paged<Cluster>, Error> {
    match only {
        None => records::page(db, page, store::clusters_page).await,
        Some(ids) => {
            db.read(move |c| {
                let (rows, total) = store::clusters_page_of(c, page, Some(&ids))?;
                Ok((rows, u64::try_from(total).unwrap_or(0)))
            })
            .await
        }
    }
}

/// Creates a cluster; returns its id.
pub async fn create(db: &Db, name: String, desc: String, biz: String) -> Result<i64, Error> {
    db.write(move |c| store::insert_cluster(c, &name, &desc, &biz).map_err(Error::from))
        .await
}

pub async fn update(db: &Db, id: i64, change: ClusterChange) -> Result<(), Error> {
    let apply = move |cluster: &mut Cluster| {
        records::set_given(&mut cluster.name, change.name);
        records::set_given(&mut cluster.desc, change.desc);
        records::set_given(&mut cluster.biz, change.biz);
    };
    CLUSTERS.update(db, id, apply, store::update_cluster).await
}
