//! Schedules: cron items that scale a pool (type `expand`) or deploy it again (type `upload`)
//! at a time of day, and depend items that make other pools follow. The scheduler fires due
//! items once per due minute; only the elected leader runs it (see `election`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{Datelike, NaiveDateTime, Timelike};
use serde_json::{Map, Value};
use wire::orchestrator::{CronItem, DependItem, Schedule};

use crate::error::Error;
use crate::flows::{Flows, Kind, Request, Targets};
use crate::store;
use crate::store::schedules as sstore;

/// Most cron or depend items one schedule may have.
pub const MAX_ITEMS: usize = 100;
/// Most nodes a cron item may ask for.
pub const MAX_INSTANCES: i32 = 1000;

/// The wall clock the scheduler reads: the local time of day and day of week. Tests set it.
pub trait Clock: Send + Sync {
    fn now(&self) -> NaiveDateTime;
}

/// The machine's local time.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> NaiveDateTime {
        chrono::Local::now().naive_local()
    }
}

/// A clock that says what it was last set to (tests).
pub struct ManualClock(Mutex<NaiveDateTime>);

impl ManualClock {
    pub fn new(at: NaiveDateTime) -> ManualClock {
        ManualClock(Mutex::new(at))
    }

    pub fn set(&self, at: NaiveDateTime) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> NaiveDateTime {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether this replica leads, and how many scheduler turns it made (leader or not).
#[derive(Default)]
pub struct Leadership {
    leader: AtomicBool,
    ticks: AtomicU64,
}

impl Leadership {
    pub fn is_leader(&self) -> bool {
        self.leader.load(Ordering::SeqCst)
    }

    pub fn set_leader(&self, leader: bool) {
        let was = self.leader.swap(leader, Ordering::SeqCst);
        if was != leader {
            tracing::info!(leader, "scheduler leadership changed");
        }
    }

    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::SeqCst)
    }

    fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::SeqCst);
    }
}

/// A schedule as `/task/saveTask` gives it.
#[derive(Debug, Clone)]
pub struct Save {
    /// 0 = a new schedule.
    pub id: i64,
    pub pool_id: i64,
    pub kind: String,
    pub exec_type: String,
    pub cron_items: Vec<CronItem>,
    pub depend_items: Vec<DependItem>,
}

/// `type`: `expand` or `upload` (the seed's example writes `" expand/upload"`: trimmed).
pub fn kind(text: &str) -> Result<String, Error> {
    let kind = text.trim().to_ascii_lowercase();
    match kind.as_str() {
        "expand" | "upload" => Ok(kind),
        _ => Err(Error::BadArgument(format!(
            "invalid parameter `type`: `{text}` is neither expand nor upload"
        ))),
    }
}

/// `exec_type`: `crontab` or `depend`; absent = `crontab`.
pub fn exec_type(text: Option<String>) -> Result<String, Error> {
    let Some(text) = text else {
        return Ok("crontab".into());
    };
    let exec = text.trim().to_ascii_lowercase();
    match exec.as_str() {
        "crontab" | "depend" => Ok(exec),
        _ => Err(Error::BadArgument(format!(
            "invalid parameter `exec_type`: `{text}` is neither crontab nor depend"
        ))),
    }
}

fn item_error(list: &str, index: usize, reason: impl std::fmt::Display) -> Error {
    Error::BadArgument(format!("invalid {list}[{index}]: {reason}"))
}

/// A whole number from a JSON number or a decimal string.
fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn float(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn flag(v: Option<&Value>) -> Option<bool> {
    match v {
        None | Some(Value::Null) => Some(false),
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::Number(n)) => n.as_i64().map(|n| n != 0),
        Some(Value::String(s)) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// The items of a list given as a JSON array or a string holding one.
fn items(list: &str, value: Option<Value>) -> Result<Vec<Map<String, Value>>, Error> {
    let array = match value {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(a)) => a,
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(Vec::new()),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Array(a)) => a,
            _ => {
                return Err(Error::BadArgument(format!(
                    "invalid parameter `{list}`: not a JSON array"
                )))
            }
        },
        Some(_) => {
            return Err(Error::BadArgument(format!(
                "invalid parameter `{list}`: not a JSON array"
            )))
        }
    };
    if array.len() > MAX_ITEMS {
        return Err(Error::BadArgument(format!(
            "invalid parameter `{list}`: more than {MAX_ITEMS} items"
        )));
    }
    array
        .into_iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Object(m) => Ok(m),
            _ => Err(item_error(list, i, "not an object")),
        })
        .collect()
}

fn check_keys(
    list: &str,
    i: usize,
    item: &Map<String, Value>,
    known: &[&str],
) -> Result<(), Error> {
    match item.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(item_error(list, i, format!("unknown key `{k}`"))),
        None => Ok(()),
    }
}

/// "HH:MM" with 00 <= HH <= 23 and 00 <= MM <= 59, written back with two digits each. The
/// original system stored "HH:MM:SS" ("14:09:08"): seconds are accepted and dropped, since
/// items fire once per minute.
pub fn time_of_day(text: &str) -> Option<String> {
    let mut parts = text.trim().split(':');
    let h: u32 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let seconds_ok = match parts.next() {
        None => true,
        Some(s) => s.parse::<u32>().is_ok_and(|s| s < 60),
    };
    (seconds_ok && parts.next().is_none() && h < 24 && m < 60).then(|| format!("{h:02}:{m:02}"))
}

/// The size a dependent pool follows at when its pool is scaled to `n`: ceil(n × ratio), plus
/// its spare nodes (`elastic_count`, "冗余机器数量" in the original system's model).
pub fn dependent_target(n: i64, ratio: f64, elastic_count: i64) -> i64 {
    (n as f64 * ratio).ceil() as i64 + elastic_count
}

pub fn cron_items(value: Option<Value>) -> Result<Vec<CronItem>, Error> {
    const LIST: &str = "cron_items";
    let known = [
        "week_day",
        "time",
        "instance_num",
        "concurr_ratio",
        "concurr_num",
        "ignore",
    ];
    let mut out = Vec::new();
    for (i, item) in items(LIST, value)?.into_iter().enumerate() {
        check_keys(LIST, i, &item, &known)?;
        let week_day = int(item.get("week_day"))
            .filter(|d| (0..=7).contains(d))
            .ok_or_else(|| {
                item_error(
                    LIST,
                    i,
                    "`week_day` must be 0 (every day) or 1-7 (Sunday-Saturday)",
                )
            })?;
        let time = item
            .get("time")
            .and_then(Value::as_str)
            .and_then(time_of_day)
            .ok_or_else(|| item_error(LIST, i, "`time` must be \"HH:MM\" (or \"HH:MM:SS\")"))?;
        let instance_num = int(item.get("instance_num"))
            .filter(|n| (0..=i64::from(MAX_INSTANCES)).contains(n))
            .ok_or_else(|| {
                item_error(
                    LIST,
                    i,
                    format!("`instance_num` must be 0 to {MAX_INSTANCES}"),
                )
            })?;
        let concurr_ratio = match item.get("concurr_ratio") {
            None => 100,
            v => int(v)
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| item_error(LIST, i, "`concurr_ratio` must be 1 to 100 (percent)"))?,
        };
        let concurr_num = match item.get("concurr_num") {
            None => 0,
            v => int(v)
                .filter(|n| (0..=i64::from(MAX_INSTANCES)).contains(n))
                .ok_or_else(|| {
                    item_error(
                        LIST,
                        i,
                        format!("`concurr_num` must be 0 (no cap) to {MAX_INSTANCES}"),
                    )
                })?,
        };
        let ignore = flag(item.get("ignore"))
            .ok_or_else(|| item_error(LIST, i, "`ignore` must be true or false"))?;
        out.push(CronItem {
            week_day: week_day as i32,
            time,
            instance_num: instance_num as i32,
            concurr_ratio: concurr_ratio as i32,
            concurr_num: concurr_num as i32,
            ignore,
        });
    }
    Ok(out)
}

pub fn depend_items(value: Option<Value>) -> Result<Vec<DependItem>, Error> {
    const LIST: &str = "depend_items";
    let known = ["pool_id", "ratio", "elastic_count", "step_name", "ignore"];
    let mut out = Vec::new();
    for (i, item) in items(LIST, value)?.into_iter().enumerate() {
        check_keys(LIST, i, &item, &known)?;
        let pool_id = int(item.get("pool_id"))
            .filter(|p| *p > 0)
            .ok_or_else(|| item_error(LIST, i, "`pool_id` must be a positive pool id"))?;
        let ratio = float(item.get("ratio"))
            .filter(|r| r.is_finite() && (0.0..=100.0).contains(r))
            .ok_or_else(|| item_error(LIST, i, "`ratio` must be a number from 0 to 100"))?;
        let elastic_count = match item.get("elastic_count") {
            None => 0,
            v => int(v)
                .filter(|n| (0..=i64::from(MAX_INSTANCES)).contains(n))
                .ok_or_else(|| item_error(LIST, i, "`elastic_count` must be 0 or more"))?,
        };
        let step_name = match item.get("step_name") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) if s.chars().count() <= 255 => s.clone(),
            Some(_) => {
                return Err(item_error(
                    LIST,
                    i,
                    "`step_name` must be a text of at most 255 characters",
                ))
            }
        };
        let ignore = flag(item.get("ignore"))
            .ok_or_else(|| item_error(LIST, i, "`ignore` must be true or false"))?;
        out.push(DependItem {
            pool_id,
            ratio,
            elastic_count,
            step_name,
            ignore,
        });
    }
    Ok(out)
}

/// Saves a schedule; returns its id.
pub async fn save(flows: &Flows, save: Save) -> Result<i64, Error> {
    let depend_json = serde_json::to_string(&save.depend_items)
        .map_err(|e| Error::Internal(format!("depend items: {e}")))?;
    flows
        .db()
        .write(move |c| {
            let pool_id = save.pool_id;
            if store::count_pools_with_id(c, pool_id)? == 0 {
                return Err(Error::BadArgument(format!(
                    "invalid parameter `pool_id`: pool {pool_id} does not exist"
                )));
            }
            for d in &save.depend_items {
                if store::count_pools_with_id(c, d.pool_id)? == 0 {
                    return Err(Error::BadArgument(format!(
                        "invalid depend item: pool {} does not exist",
                        d.pool_id
                    )));
                }
                if d.pool_id == pool_id {
                    return Err(Error::BadArgument(format!(
                        "invalid depend item: pool {pool_id} cannot depend on itself"
                    )));
                }
            }
            let id = if save.id == 0 {
                sstore::insert_schedule(c, pool_id, &save.kind, &save.exec_type, &depend_json)?
            } else {
                if sstore::schedule(c, save.id)?.is_none() {
                    return Err(Error::NotFound(format!(
                        "schedule {} not found (id 0 creates one)",
                        save.id
                    )));
                }
                sstore::update_schedule(
                    c,
                    save.id,
                    pool_id,
                    &save.kind,
                    &save.exec_type,
                    &depend_json,
                )?;
                save.id
            };
            sstore::replace_cron_items(c, id, &save.cron_items)?;
            Ok(id)
        })
        .await
}

/// The schedules of a pool of one type.
pub async fn list(flows: &Flows, pool_id: i64, kind: &'static str) -> Result<Vec<Schedule>, Error> {
    flows
        .db()
        .read(move |c| {
            let pool = store::pool(c, pool_id)?.ok_or_else(|| {
                Error::BadArgument(format!("bad pool id: pool {pool_id} does not exist"))
            })?;
            let mut out = Vec::new();
            for row in sstore::schedules_of_pool(c, pool_id, kind)? {
                let cron: Vec<CronItem> = sstore::cron_items(c, row.id)?
                    .iter()
                    .map(CronItem::from)
                    .collect();
                out.push(Schedule {
                    id: row.id,
                    pool: pool.clone(),
                    cron_items: cron,
                    depend_items: row.depend_items(),
                    kind: row.kind.clone(),
                    exec_type: row.exec_type.clone(),
                });
            }
            Ok(out)
        })
        .await
}

/// One scheduler turn at `now`: fires every due item this replica claims. Only the leader
/// calls it with `lead` true; the others only count the turn.
pub async fn tick(flows: &Flows, leadership: &Leadership, now: NaiveDateTime) {
    if leadership.is_leader() {
        if let Err(e) = fire_due(flows, now).await {
            tracing::warn!(error = %e, "the scheduler could not read its due items");
        }
    }
    leadership.tick();
}

async fn fire_due(flows: &Flows, now: NaiveDateTime) -> Result<(), Error> {
    // The wall clock read as UTC only numbers the minute; day and time are local.
    let minute = now.and_utc().timestamp().div_euclid(60);
    let at = format!("{:02}:{:02}", now.hour(), now.minute());
    let day = now.weekday().num_days_from_sunday() as i32 + 1;
    let due = flows
        .db()
        .read(move |c| sstore::due_items(c, &at, &[0, day], minute).map_err(Error::from))
        .await?;
    for item in due {
        let id = item.id;
        let claimed = flows
            .db()
            .write(move |c| sstore::claim_firing(c, id, minute).map_err(Error::from))
            .await?;
        if !claimed {
            continue; // fired by another replica in this minute
        }
        if let Err(e) = fire(flows, &item).await {
            tracing::warn!(item = id, error = %e, "a scheduled item failed to fire");
        }
    }
    Ok(())
}

/// Fires one cron item: scales (expand) or deploys (upload) its pool, then the dependants.
async fn fire(flows: &Flows, item: &sstore::CronRow) -> Result<(), Error> {
    let schedule_id = item.schedule_id;
    let Some(schedule) = flows
        .db()
        .read(move |c| sstore::schedule(c, schedule_id).map_err(Error::from))
        .await?
    else {
        return Ok(());
    };
    let max_num = (item.concurr_num > 0).then_some(i64::from(item.concurr_num));
    let max_ratio = Some(i64::from(item.concurr_ratio));
    let n = i64::from(item.instance_num);
    tracing::info!(schedule = schedule.id, item = item.id, pool = schedule.pool_id, kind = %schedule.kind, n, "firing a scheduled item");
    if schedule.kind == "upload" {
        let request = Request {
            kind: Kind::Deploy,
            pool_id: schedule.pool_id,
            targets: Targets::All,
            tag: None,
            max_num,
            max_ratio,
            params: Map::new(),
        };
        flows.start(request, None, None).await?;
        return Ok(());
    }
    flows.scale(schedule.pool_id, n, max_num, max_ratio).await?;
    for dep in schedule.depend_items().iter().filter(|d| !d.ignore) {
        let target = dependent_target(n, dep.ratio, dep.elastic_count);
        if let Err(e) = flows.scale(dep.pool_id, target, max_num, max_ratio).await {
            tracing::warn!(pool = dep.pool_id, error = %e, "a dependent pool failed to follow");
        }
    }
    Ok(())
}

/// The scheduler loop: one turn every `tick`, until `stop` says so.
pub async fn run(
    flows: Flows,
    leadership: Arc<Leadership>,
    clock: Arc<dyn Clock>,
    tick_every: std::time::Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(tick_every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => tick(&flows, &leadership, clock.now()).await,
            _ = stop.changed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_of_day_are_hh_mm() {
        assert_eq!(time_of_day("9:05").as_deref(), Some("09:05"));
        assert_eq!(time_of_day("23:59").as_deref(), Some("23:59"));
        assert_eq!(time_of_day("24:00"), None);
        assert_eq!(time_of_day("12:60"), None);
        assert_eq!(time_of_day("noon"), None);
        // The original system's "HH:MM:SS": seconds dropped.
        assert_eq!(time_of_day("14:09:08").as_deref(), Some("14:09"));
        assert_eq!(time_of_day("14:09:60"), None);
        assert_eq!(time_of_day("14:09:08:01"), None);
    }

    #[test]
    fn dependent_pools_follow_at_the_ratio_plus_their_spares() {
        assert_eq!(dependent_target(3, 0.5, 0), 2);
        assert_eq!(dependent_target(3, 0.5, 2), 4);
        assert_eq!(dependent_target(0, 1.0, 1), 1);
        assert_eq!(dependent_target(10, 0.0, 0), 0);
    }

    #[test]
    fn week_days_count_from_sunday() {
        // 2026-11-22 is a Sunday: week_day 1.
        let sunday = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("a date");
        assert_eq!(sunday.weekday().num_days_from_sunday() + 1, 1);
        let items = cron_items(Some(
            json!([{"week_day": 7, "time": "1:00", "instance_num": 1}]),
        ))
        .expect("valid");
        assert_eq!(items[0].week_day, 7);
        assert!(cron_items(Some(
            json!([{"week_day": 8, "time": "1:00", "instance_num": 1}])
        ))
        .is_err());
    }

    #[test]
    fn types_are_trimmed_and_checked() {
        assert_eq!(kind(" expand").ok().as_deref(), Some("expand"));
        assert_eq!(kind("UPLOAD").ok().as_deref(), Some("upload"));
        assert!(kind("expand/upload").is_err());
        assert_eq!(exec_type(None).ok().as_deref(), Some("crontab"));
        assert!(exec_type(Some("cron".into())).is_err());
    }
}
