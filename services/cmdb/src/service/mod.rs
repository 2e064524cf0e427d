//! The domain of cmdb: every operation the routes offer, in terms of the model, knowing
//! nothing of HTTP. Reads run in `Db::read`; each write runs in one `Db::write` transaction
//! together with the history it leaves. One file per concern, each adding its operations to
//! [`Cmdb`]; the search is `crate::search`.

mod attributes;
mod ci_batch;
mod ci_relations;
mod ci_write;
mod cis;
mod history;
mod platform;
mod render;
mod type_relations;
mod types;
mod users;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{NaiveDateTime, Utc};
use kit::db::{Db, DbConn};

use crate::config::ApiKeyConfig;
use crate::error::Error;
use crate::model::{Catalog, Typed};
use crate::search::index::SharedIndex;
use crate::store;

pub use crate::search::{RelationWalk, SearchInput};
pub use attributes::AttrInput;
pub use cis::{CiWrite, ExistPolicy, WriteMode};
pub use history::HistoryInput;
pub use platform::{PlatformType, PLATFORM_TYPES};
pub(crate) use render::{attr_list, render, render_loaded};
pub use types::TypeInput;

/// CIs per page of `GET /ci/type/<id>` (the seed's 25) and the default of the search.
pub const CI_PAGE_SIZE: i64 = 25;
pub const HISTORY_PAGE_SIZE: i64 = 25;
pub const MAX_PAGE_SIZE: i64 = 1000;
/// The most rows one `POST /ci/batch` takes.
pub const MAX_BATCH_ROWS: usize = 1000;
/// The most hops `GET /cirelations/<id>/graph` follows.
pub const MAX_GRAPH_DEPTH: i64 = 5;
/// The most CIs one graph holds: past it the walk stops and says `truncated`.
pub const MAX_GRAPH_CIS: usize = 1000;

pub struct Cmdb {
    pub(crate) db: Db,
    auth: ApiKeyConfig,
    /// The search index of this process (see `index`).
    pub(crate) index: Arc<SharedIndex>,
}

pub(crate) fn now() -> NaiveDateTime {
    Utc::now().naive_utc()
}

pub(crate) fn catalog(conn: &mut DbConn) -> Result<Catalog, Error> {
    Ok(Catalog {
        attrs: store::all_attributes(conn)?,
        types: store::all_types(conn)?,
    })
}

pub(crate) fn type_not_found(id: i64) -> Error {
    Error::NotFound(format!("citype {id} is not found"))
}

pub(crate) fn attr_not_found(key: &str) -> Error {
    Error::NotFound(format!("attribute `{key}` is not found"))
}

impl Cmdb {
    pub fn new(db: Db, auth: ApiKeyConfig) -> Self {
        Cmdb {
            db,
            auth,
            index: Arc::new(SharedIndex::new()),
        }
    }

    /// Builds (or brings up to date) the search index; start-up calls it so that the first
    /// search does not pay for the build.
    pub async fn sync_index(&self) -> Result<(), Error> {
        let index = self.index.clone();
        self.db
            .read(move |conn| index.sync(conn).map(|_| ()).map_err(Error::from))
            .await
    }
}

/// Values by attribute id, each attribute's in insertion order.
pub(crate) fn group_values(rows: Vec<store::ValueRow>) -> BTreeMap<i64, Vec<Typed>> {
    let mut out: BTreeMap<i64, Vec<Typed>> = BTreeMap::new();
    for (_, attr, value) in rows {
        out.entry(attr).or_default().push(value);
    }
    out
}
