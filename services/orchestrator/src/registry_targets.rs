//! Registry targets (`/sd`): where a pool's nodes are registered in soa-registry — a zkidc, a
//! service name and a port. One is deleted only once no pool points at it.

use kit::db::{Db, DbConn};
use kit::Page;
use wire::orchestrator::SdTarget;

use crate::domain::{self, MAX_TEXT};
use crate::error::Error;
use crate::records::{self, Paged, Records};
use crate::store::flows as fstore;

pub static TARGETS: Records<SdTarget> = Records {
    name: "registry target",
    load: fstore::sd_target,
    holders: &[pools_using],
    delete: fstore::delete_sd,
};

fn pools_using(c: &mut DbConn, id: i64) -> Result<(), Error> {
    let pools = fstore::pools_using_sd(c, id)?;
    if !pools.is_empty() {
        let list: Vec<String> = pools.iter().map(i64::to_string).collect();
        return Err(Error::Conflict(format!(
            "registry target {id} is used by pool(s) {}: change their sd_id first",
            list.join(", ")
        )));
    }
    Ok(())
}

/// A zkidc or service name (given as parameter `name`): what soa-registry accepts in a path
/// segment.
pub fn name(name: &str, value: String) -> Result<String, Error> {
    let value = domain::text(name, value, MAX_TEXT)?;
    if value.trim().is_empty() || value.contains('/') || value.chars().any(char::is_whitespace) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{name}`: must be a non-empty name without `/` or spaces"
        )));
    }
    Ok(value)
}

/// A TCP port.
pub fn port(value: i64) -> Result<i32, Error> {
    if !(1..=65535).contains(&value) {
        return Err(Error::BadArgument(format!(
            "invalid parameter `port`: must be 1 to 65535, not {value}"
        )));
    }
    Ok(value as i32)
}

/// What an update changes; `None` keeps the field.
pub struct TargetChange {
    pub zkidc: Option<String>,
    pub service: Option<String>,
    pub port: Option<i32>,
}

pub async fn list(db: &Db, page: Page) -> Result<Paged<SdTarget>, Error> {
    records::page(db, page, fstore::sd_page).await
}

/// Creates `target` (its `id` is ignored); returns its id.
pub async fn create(db: &Db, target: SdTarget) -> Result<i64, Error> {
    db.write(move |c| fstore::insert_sd(c, &target).map_err(Error::from))
        .await
}

pub async fn update(db: &Db, id: i64, change: TargetChange) -> Result<(), Error> {
    let apply = move |target: &mut SdTarget| {
        records::set_given(&mut target.zkidc, change.zkidc);
        records::set_given(&mut target.service, change.service);
        records::set_given(&mut target.port, change.port);
    };
    TARGETS.update(db, id, apply, fstore::update_sd).await
}
