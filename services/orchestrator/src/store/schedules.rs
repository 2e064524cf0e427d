//! Schedules (`oc_schedules`) and their cron items (`oc_cron_items`, with the minute each last
//! fired).

use diesel::prelude::*;
use kit::db::{last_insert_id, DbConn};
use wire::orchestrator::{CronItem, DependItem};

use super::schema::{oc_cron_items, oc_schedules};

#[derive(Debug, Clone, Queryable)]
pub struct ScheduleRow {
    pub id: i64,
    pub pool_id: i64,
    pub kind: String,
    pub exec_type: String,
    /// JSON array of [`DependItem`].
    pub depend_items: String,
}

impl ScheduleRow {
    /// The depend items; a row that does not parse (written by hand) reads as none.
    pub fn depend_items(&self) -> Vec<DependItem> {
        serde_json::from_str(&self.depend_items).unwrap_or_default()
    }
}

#[derive(Debug, Clone, Queryable)]
pub struct CronRow {
    pub id: i64,
    pub schedule_id: i64,
    pub pos: i32,
    pub week_day: i32,
    pub at_time: String,
    pub instance_num: i32,
    pub concurr_ratio: i32,
    pub concurr_num: i32,
    pub ignored: bool,
    /// Minutes since the Unix epoch (wall clock read as UTC) of the last firing; 0 = never.
    pub last_fired: i64,
}

impl From<&CronRow> for CronItem {
    fn from(r: &CronRow) -> Self {
        CronItem {
            week_day: r.week_day,
            time: r.at_time.clone(),
            instance_num: r.instance_num,
            concurr_ratio: r.concurr_ratio,
            concurr_num: r.concurr_num,
            ignore: r.ignored,
        }
    }
}

pub fn schedule(conn: &mut DbConn, id: i64) -> QueryResult<Option<ScheduleRow>> {
    oc_schedules::table
        .find(id)
        .get_result::<ScheduleRow>(conn)
        .optional()
}

pub fn schedules_of_pool(
    conn: &mut DbConn,
    pool_id: i64,
    kind: &str,
) -> QueryResult<Vec<ScheduleRow>> {
    oc_schedules::table
        .filter(oc_schedules::pool_id.eq(pool_id))
        .filter(oc_schedules::kind.eq(kind))
        .order(oc_schedules::id)
        .load(conn)
}

pub fn count_schedules(conn: &mut DbConn, pool_id: i64) -> QueryResult<i64> {
    oc_schedules::table
        .filter(oc_schedules::pool_id.eq(pool_id))
        .select(diesel::dsl::count_star())
        .get_result(conn)
}

pub fn insert_schedule(
    conn: &mut DbConn,
    pool_id: i64,
    kind: &str,
    exec_type: &str,
    depend_items: &str,
) -> QueryResult<i64> {
    diesel::insert_into(oc_schedules::table)
        .values((
            oc_schedules::pool_id.eq(pool_id),
            oc_schedules::kind.eq(kind),
            oc_schedules::exec_type.eq(exec_type),
            oc_schedules::depend_items.eq(depend_items),
        ))
        .execute(conn)?;
    last_insert_id(conn)
}

pub fn update_schedule(
    conn: &mut DbConn,
    id: i64,
    pool_id: i64,
    kind: &str,
    exec_type: &str,
    depend_items: &str,
) -> QueryResult<usize> {
    diesel::update(oc_schedules::table.find(id))
        .set((
            oc_schedules::pool_id.eq(pool_id),
            oc_schedules::kind.eq(kind),
            oc_schedules::exec_type.eq(exec_type),
            oc_schedules::depend_items.eq(depend_items),
        ))
        .execute(conn)
}

pub fn cron_items(conn: &mut DbConn, schedule_id: i64) -> QueryResult<Vec<CronRow>> {
    oc_cron_items::table
        .filter(oc_cron_items::schedule_id.eq(schedule_id))
        .order(oc_cron_items::pos)
        .load(conn)
}

/// Replaces the cron items of a schedule; an item kept as it was (same day and time) keeps
/// its last firing, so saving again in a due minute does not fire it twice.
pub fn replace_cron_items(
    conn: &mut DbConn,
    schedule_id: i64,
    items: &[CronItem],
) -> QueryResult<()> {
    let old = cron_items(conn, schedule_id)?;
    diesel::delete(oc_cron_items::table.filter(oc_cron_items::schedule_id.eq(schedule_id)))
        .execute(conn)?;
    for (pos, item) in items.iter().enumerate() {
        let last_fired = old
            .iter()
            .find(|o| o.week_day == item.week_day && o.at_time == item.time)
            .map_or(0, |o| o.last_fired);
        diesel::insert_into(oc_cron_items::table)
            .values((
                oc_cron_items::schedule_id.eq(schedule_id),
                oc_cron_items::pos.eq(i32::try_from(pos).unwrap_or(i32::MAX)),
                oc_cron_items::week_day.eq(item.week_day),
                oc_cron_items::at_time.eq(&item.time),
                oc_cron_items::instance_num.eq(item.instance_num),
                oc_cron_items::concurr_ratio.eq(item.concurr_ratio),
                oc_cron_items::concurr_num.eq(item.concurr_num),
                oc_cron_items::ignored.eq(item.ignore),
                oc_cron_items::last_fired.eq(last_fired),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Cron items set for `at_time` on one of `days`, not ignored, not yet fired in `minute`.
pub fn due_items(
    conn: &mut DbConn,
    at_time: &str,
    days: &[i32],
    minute: i64,
) -> QueryResult<Vec<CronRow>> {
    oc_cron_items::table
        .filter(oc_cron_items::at_time.eq(at_time))
        .filter(oc_cron_items::week_day.eq_any(days))
        .filter(oc_cron_items::ignored.eq(false))
        .filter(oc_cron_items::last_fired.lt(minute))
        .order(oc_cron_items::id)
        .load(conn)
}

/// Claims the firing of item `id` in `minute`: true for exactly one caller, whatever the
/// number of replicas (the conditional update is the arbiter, the election the first line).
pub fn claim_firing(conn: &mut DbConn, id: i64, minute: i64) -> QueryResult<bool> {
    let changed = diesel::update(
        oc_cron_items::table
            .filter(oc_cron_items::id.eq(id))
            .filter(oc_cron_items::last_fired.lt(minute)),
    )
    .set(oc_cron_items::last_fired.eq(minute))
    .execute(conn)?;
    Ok(changed == 1)
}
