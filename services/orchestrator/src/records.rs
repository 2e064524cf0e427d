//! The shape every record the orchestrator owns shares, written once: found by id or refused
//! with a 404, created only under an existing parent, changed in one transaction, deleted only
//! once nothing holds on to it. Each kind of record ([`Records`]) says its name and its queries.

use diesel::QueryResult;
use kit::db::{Db, DbConn};
use kit::Page;

use crate::error::Error;

/// One page of a list and the number of rows on every page.
pub type Paged<T> = (Vec<T>, u64);

/// A page as the store reads it: its rows and the count on every page.
type StorePage<T> = QueryResult<(Vec<T>, i64)>;

/// A check run before a delete, in its transaction: a conflict while something still holds on
/// to the record (children, schedules, pools pointing at it).
pub type Holder = fn(&mut DbConn, i64) -> Result<(), Error>;

/// One kind of record: clusters, services, pools, registry targets.
pub struct Records<T> {
    /// How messages name one: `cluster`, `registry target`.
    pub name: &'static str,
    pub load: fn(&mut DbConn, i64) -> QueryResult<Option<T>>,
    /// What must let go of a record before it is deleted, checked in this order.
    pub holders: &'static [Holder],
    pub delete: fn(&mut DbConn, i64) -> QueryResult<usize>,
}

impl<T: Send + 'static> Records<T> {
    /// The refusal of an id that names no record.
    pub fn missing(&self, id: i64) -> Error {
        Error::NotFound(format!("{} {id} not found", self.name))
    }

    /// Record `id`, inside a transaction.
    pub fn found(&self, c: &mut DbConn, id: i64) -> Result<T, Error> {
        (self.load)(c, id)?.ok_or_else(|| self.missing(id))
    }

    /// Record `id`.
    pub async fn get(&'static self, db: &Db, id: i64) -> Result<T, Error> {
        db.read(move |c| self.found(c, id)).await
    }

    /// Inserts a record under record `parent_id` of this kind (given as parameter `key`), in
    /// the transaction that checks the parent exists; returns the new record's id.
    pub async fn create_child<F>(
        &'static self,
        db: &Db,
        key: &'static str,
        parent_id: i64,
        insert: F,
    ) -> Result<i64, Error>
    where
        F: FnOnce(&mut DbConn) -> QueryResult<i64> + Send + 'static,
    {
        db.write(move |c| {
            if (self.load)(c, parent_id)?.is_none() {
                return Err(Error::BadArgument(format!(
                    "invalid parameter `{key}`: {} {parent_id} does not exist",
                    self.name
                )));
            }
            insert(c).map_err(Error::from)
        })
        .await
    }

    /// One page of what record `id` holds, read by `load`; refused when `id` names no record.
    pub async fn children<C: Send + 'static>(
        &'static self,
        db: &Db,
        id: i64,
        page: Page,
        load: fn(&mut DbConn, i64, Page) -> StorePage<C>,
    ) -> Result<Paged<C>, Error> {
        db.read(move |c| {
            self.found(c, id)?;
            Ok(counted(load(c, id, page)?))
        })
        .await
    }

    /// Reads record `id`, applies `change` and writes it back with `save`, in one transaction.
    pub async fn update<F>(
        &'static self,
        db: &Db,
        id: i64,
        change: F,
        save: fn(&mut DbConn, &T) -> QueryResult<usize>,
    ) -> Result<(), Error>
    where
        F: FnOnce(&mut T) + Send + 'static,
    {
        db.write(move |c| {
            let mut record = self.found(c, id)?;
            change(&mut record);
            save(c, &record)?;
            Ok(())
        })
        .await
    }

    /// Deletes record `id` unless one of its holders refuses, in one transaction.
    pub async fn delete(&'static self, db: &Db, id: i64) -> Result<(), Error> {
        db.write(move |c| {
            self.found(c, id)?;
            for holder in self.holders {
                holder(c, id)?;
            }
            (self.delete)(c, id)?;
            Ok(())
        })
        .await
    }
}

/// One page of a list of records that live under nothing.
pub async fn page<T: Send + 'static>(
    db: &Db,
    page: Page,
    load: fn(&mut DbConn, Page) -> StorePage<T>,
) -> Result<Paged<T>, Error> {
    db.read(move |c| Ok(counted(load(c, page)?))).await
}

/// The refusal of a delete while `count` of `what` still hold on to record `id` of kind
/// `name`: `cluster 3 still has 2 service(s): delete them first`.
pub fn still_has(name: &str, id: i64, count: i64, what: &str) -> Result<(), Error> {
    if count > 0 {
        return Err(Error::Conflict(format!(
            "{name} {id} still has {count} {what}"
        )));
    }
    Ok(())
}

/// Sets `field` to `value` when an update gives one.
pub fn set_given<T>(field: &mut T, value: Option<T>) {
    if let Some(value) = value {
        *field = value;
    }
}

fn counted<T>((rows, total): (Vec<T>, i64)) -> Paged<T> {
    (rows, u64::try_from(total).unwrap_or(0))
}
