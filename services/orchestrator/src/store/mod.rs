//! The queries of orchestrator, written once for SQLite and MySQL over `kit::db::DbConn`.
//! Functions here run inside `Db::read` / `Db::write`, on the blocking pool.

pub mod flows;
pub mod schedules;
pub mod schema;

use diesel::dsl::count_star;
use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};
use kit::Page;
use wire::orchestrator::{node_state_name, Cluster, Node, Pool, Service};

use schema::{oc_clusters, oc_nodes, oc_pools, oc_services};

// ---- clusters ----

#[derive(Debug, Clone, Queryable)]
struct ClusterRow {
    id: i64,
    name: String,
    descr: String,
    biz: String,
}

impl From<ClusterRow> for Cluster {
    fn from(r: ClusterRow) -> Self {
        Cluster {
            id: r.id,
            name: r.name,
            desc: r.descr,
            biz: r.biz,
        }
    }
}

pub fn cluster(conn: &mut DbConn, id: i64) -> QueryResult<Option<Cluster>> {
    oc_clusters::table
        .find(id)
        .get_result::<ClusterRow>(conn)
        .optional()
        .map(|r| r.map(Cluster::from))
}

pub fn clusters_page(conn: &mut DbConn, page: Page) -> QueryResult<(Vec<Cluster>, i64)> {
    clusters_page_of(conn, page, None)
}

/// A page of the clusters; `only` limits it to these ids (`None`: every cluster).
pub fn clusters_page_of(
    conn: &mut DbConn,
    page: Page,
    only: Option<&[i64]>,
) -> QueryResult<(Vec<Cluster>, i64)> {
    let scoped = || {
        let mut query = oc_clusters::table.into_boxed();
        if let Some(ids) = only {
            query = query.filter(oc_clusters::id.eq_any(ids.to_vec()));
        }
        query
    };
    let total = scoped().select(count_star()).get_result(conn)?;
    let rows: Vec<ClusterRow> = scoped()
        .order(oc_clusters::id)
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    Ok((rows.into_iter().map(Cluster::from).collect(), total))
}

pub fn insert_cluster(conn: &mut DbConn, name: &str, desc: &str, biz: &str) -> QueryResult<i64> {
    diesel::insert_into(oc_clusters::table)
        .values((
            oc_clusters::name.eq(name),
            oc_clusters::descr.eq(desc),
            oc_clusters::biz.eq(biz),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_cluster(conn: &mut DbConn, c: &Cluster) -> QueryResult<usize> {
    diesel::update(oc_clusters::table.find(c.id))
        .set((
            oc_clusters::name.eq(&c.name),
            oc_clusters::descr.eq(&c.desc),
            oc_clusters::biz.eq(&c.biz),
        ))
        .execute(conn)
}

pub fn delete_cluster(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(oc_clusters::table.find(id)).execute(conn)
}

// ---- services ----

#[derive(Debug, Clone, Queryable)]
struct ServiceRow {
    id: i64,
    name: String,
    descr: String,
    service_type: String,
    docker_image: String,
    cluster_id: i64,
}

impl From<ServiceRow> for Service {
    fn from(r: ServiceRow) -> Self {
        Service {
            id: r.id,
            name: r.name,
            desc: r.descr,
            service_type: r.service_type,
            docker_image: r.docker_image,
            cluster_id: r.cluster_id,
        }
    }
}

pub fn service(conn: &mut DbConn, id: i64) -> QueryResult<Option<Service>> {
    oc_services::table
        .find(id)
        .get_result::<ServiceRow>(conn)
        .optional()
        .map(|r| r.map(Service::from))
}

pub fn count_services(conn: &mut DbConn, cluster_id: i64) -> QueryResult<i64> {
    oc_services::table
        .filter(oc_services::cluster_id.eq(cluster_id))
        .select(count_star())
        .get_result(conn)
}

pub fn services_page(
    conn: &mut DbConn,
    cluster_id: i64,
    page: Page,
) -> QueryResult<(Vec<Service>, i64)> {
    let total = count_services(conn, cluster_id)?;
    let rows: Vec<ServiceRow> = oc_services::table
        .filter(oc_services::cluster_id.eq(cluster_id))
        .order(oc_services::id)
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    Ok((rows.into_iter().map(Service::from).collect(), total))
}

pub fn insert_service(conn: &mut DbConn, s: &Service) -> QueryResult<i64> {
    diesel::insert_into(oc_services::table)
        .values((
            oc_services::name.eq(&s.name),
            oc_services::descr.eq(&s.desc),
            oc_services::service_type.eq(&s.service_type),
            oc_services::docker_image.eq(&s.docker_image),
            oc_services::cluster_id.eq(s.cluster_id),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn delete_service(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(oc_services::table.find(id)).execute(conn)
}

// ---- pools ----

#[derive(Debug, Clone, Queryable)]
struct PoolRow {
    id: i64,
    name: String,
    descr: String,
    vm_type: i64,
    sd_id: i64,
    service_id: i64,
    expand_tpl: i64,
    shrink_tpl: i64,
    deploy_tpl: i64,
}

impl PoolRow {
    fn into_pool(self, node_count: i64) -> Pool {
        Pool {
            id: self.id,
            name: self.name,
            desc: self.descr,
            vm_type: self.vm_type,
            sd_id: self.sd_id,
            service_id: self.service_id,
            expand_tpl: self.expand_tpl,
            shrink_tpl: self.shrink_tpl,
            deploy_tpl: self.deploy_tpl,
            node_count,
        }
    }
}

pub fn pool(conn: &mut DbConn, id: i64) -> QueryResult<Option<Pool>> {
    let Some(row) = oc_pools::table
        .find(id)
        .get_result::<PoolRow>(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let count = count_nodes(conn, id)?;
    Ok(Some(row.into_pool(count)))
}

pub fn count_pools(conn: &mut DbConn, service_id: i64) -> QueryResult<i64> {
    oc_pools::table
        .filter(oc_pools::service_id.eq(service_id))
        .select(count_star())
        .get_result(conn)
}

pub fn pools_page(conn: &mut DbConn, service_id: i64, page: Page) -> QueryResult<(Vec<Pool>, i64)> {
    let total = count_pools(conn, service_id)?;
    let rows: Vec<PoolRow> = oc_pools::table
        .filter(oc_pools::service_id.eq(service_id))
        .order(oc_pools::id)
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let counts: Vec<(i64, i64)> = oc_nodes::table
        .filter(oc_nodes::pool_id.eq_any(&ids))
        .group_by(oc_nodes::pool_id)
        .select((oc_nodes::pool_id, count_star()))
        .load(conn)?;
    let pools = rows
        .into_iter()
        .map(|r| {
            let n = counts
                .iter()
                .find(|(id, _)| *id == r.id)
                .map_or(0, |(_, n)| *n);
            r.into_pool(n)
        })
        .collect();
    Ok((pools, total))
}

pub fn insert_pool(conn: &mut DbConn, p: &Pool) -> QueryResult<i64> {
    diesel::insert_into(oc_pools::table)
        .values((
            oc_pools::name.eq(&p.name),
            oc_pools::descr.eq(&p.desc),
            oc_pools::vm_type.eq(p.vm_type),
            oc_pools::sd_id.eq(p.sd_id),
            oc_pools::service_id.eq(p.service_id),
            oc_pools::expand_tpl.eq(p.expand_tpl),
            oc_pools::shrink_tpl.eq(p.shrink_tpl),
            oc_pools::deploy_tpl.eq(p.deploy_tpl),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_pool(conn: &mut DbConn, p: &Pool) -> QueryResult<usize> {
    diesel::update(oc_pools::table.find(p.id))
        .set((
            oc_pools::name.eq(&p.name),
            oc_pools::descr.eq(&p.desc),
            oc_pools::vm_type.eq(p.vm_type),
            oc_pools::sd_id.eq(p.sd_id),
            oc_pools::expand_tpl.eq(p.expand_tpl),
            oc_pools::shrink_tpl.eq(p.shrink_tpl),
            oc_pools::deploy_tpl.eq(p.deploy_tpl),
        ))
        .execute(conn)
}

pub fn delete_pool(conn: &mut DbConn, id: i64) -> QueryResult<usize> {
    diesel::delete(oc_pools::table.find(id)).execute(conn)
}

// ---- nodes ----

#[derive(Debug, Clone, Queryable)]
pub(crate) struct NodeRow {
    id: i64,
    pool_id: i64,
    ip: Option<String>,
    vm_id: String,
    status: i32,
    node_type: String,
    step: String,
    tag: String,
    task_id: i64,
}

impl From<NodeRow> for Node {
    fn from(r: NodeRow) -> Self {
        Node {
            id: r.id,
            pool_id: r.pool_id,
            ip: r.ip.unwrap_or_default(),
            vm_id: r.vm_id,
            status: r.status,
            node_type: r.node_type,
            state: node_state_name(r.status).to_string(),
            step: r.step,
            tag: r.tag,
            task_id: r.task_id,
        }
    }
}

pub fn count_nodes(conn: &mut DbConn, pool_id: i64) -> QueryResult<i64> {
    oc_nodes::table
        .filter(oc_nodes::pool_id.eq(pool_id))
        .select(count_star())
        .get_result(conn)
}

pub fn nodes_page(conn: &mut DbConn, pool_id: i64, page: Page) -> QueryResult<(Vec<Node>, i64)> {
    let total = count_nodes(conn, pool_id)?;
    let rows: Vec<NodeRow> = oc_nodes::table
        .filter(oc_nodes::pool_id.eq(pool_id))
        .order(oc_nodes::id)
        .offset(page.offset())
        .limit(page.limit())
        .load(conn)?;
    Ok((rows.into_iter().map(Node::from).collect(), total))
}

/// `(ip, pool_id)` of those of `ips` that are in a pool.
pub fn pools_of_ips(conn: &mut DbConn, ips: &[String]) -> QueryResult<Vec<(String, i64)>> {
    let found: Vec<(Option<String>, i64)> = oc_nodes::table
        .filter(oc_nodes::ip.eq_any(ips))
        .select((oc_nodes::ip, oc_nodes::pool_id))
        .load(conn)?;
    Ok(found
        .into_iter()
        .filter_map(|(ip, pool)| ip.map(|ip| (ip, pool)))
        .collect())
}

pub fn insert_node(
    conn: &mut DbConn,
    pool_id: i64,
    ip: &str,
    status: i32,
    node_type: &str,
) -> QueryResult<i64> {
    diesel::insert_into(oc_nodes::table)
        .values((
            oc_nodes::pool_id.eq(pool_id),
            oc_nodes::ip.eq(ip),
            oc_nodes::vm_id.eq(""),
            oc_nodes::status.eq(status),
            oc_nodes::node_type.eq(node_type),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn delete_nodes(conn: &mut DbConn, pool_id: i64, ips: &[String]) -> QueryResult<usize> {
    diesel::delete(
        oc_nodes::table
            .filter(oc_nodes::pool_id.eq(pool_id))
            .filter(oc_nodes::ip.eq_any(ips)),
    )
    .execute(conn)
}

/// 1 when pool `id` exists, 0 otherwise (without counting its nodes).
pub fn count_pools_with_id(conn: &mut DbConn, id: i64) -> QueryResult<i64> {
    oc_pools::table
        .filter(oc_pools::id.eq(id))
        .select(count_star())
        .get_result(conn)
}
