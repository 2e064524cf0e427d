//! The catalog: actions, their implementations, remote steps, templates and the task steps a
//! template may use. Checks that names exist and that nothing still used is deleted or
//! renamed. Knows nothing of HTTP.

use std::collections::HashSet;

use kit::db::{Db, DbConn};
use kit::Page;
use serde_json::{Map, Value};
use wire::task_engine::{
    Action, ActionImpl, BuiltinStep, RemoteStep, Retry, TaskStep, Template, TemplateStep,
};

use crate::error::Error;
use crate::flows::UNFINISHED;
use crate::store::{self, ActionImplRow, ActionRow, RemoteStepRow, TemplateRow};

/// Names are unique keys on MySQL, where an indexed VARCHAR holds at most 191 characters.
pub const MAX_NAME_CHARS: usize = 191;
/// Most retries a step may ask for: enough for any flaky command, small enough to end.
pub const MAX_RETRY_TIMES: u64 = 100;

/// One page of rows and how many rows there are in all.
pub type Paged<T> = (Vec<T>, u64);

/// Fields of a create or update; on update, an absent field keeps its value.
#[derive(Debug, Default)]
pub struct ActionInput {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub params: Option<Map<String, Value>>,
}

#[derive(Debug, Default)]
pub struct ActionImplInput {
    pub action_id: Option<i64>,
    pub impl_type: Option<String>,
    pub template: Option<Map<String, Value>>,
}

#[derive(Debug, Default)]
pub struct RemoteStepInput {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub actions: Option<Vec<String>>,
}

#[derive(Debug, Default)]
pub struct TemplateInput {
    pub name: Option<String>,
    pub desc: Option<String>,
    pub steps: Option<Vec<TemplateStep>>,
}

/// A trimmed, non-empty, one-line name no longer than [`MAX_NAME_CHARS`].
pub fn check_name(field: &str, name: &str) -> Result<String, Error> {
    let name = name.trim();
    kit::text::check_line(field, name)?;
    if name.is_empty() {
        return Err(Error::BadArgument(format!("`{field}` must not be empty")));
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(Error::BadArgument(format!(
            "`{field}` is longer than {MAX_NAME_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, Error> {
    value.ok_or_else(|| Error::BadArgument(format!("missing parameter `{field}`")))
}

fn to_text(value: &impl serde::Serialize) -> Result<String, Error> {
    serde_json::to_string(value).map_err(|e| Error::Internal(format!("cannot encode JSON: {e}")))
}

/// Decodes a JSON document this service stored; failing means the row was damaged by hand.
fn from_text<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T, Error> {
    serde_json::from_str(text)
        .map_err(|e| Error::Internal(format!("stored {what} is not valid: {e}")))
}

/// Runs catalog write `work` in one transaction holding the catalog lock, so the checks it
/// makes (names free, nothing still used) hold until it commits, on MySQL too.
pub async fn catalog_write<T, F>(db: &Db, work: F) -> Result<T, Error>
where
    F: FnOnce(&mut DbConn) -> Result<T, Error> + Send + 'static,
    T: Send + 'static,
{
    db.write(move |c| {
        store::lock_catalog(c)?;
        work(c)
    })
    .await
}

/// A row count from the database as the wire's unsigned count.
pub fn count(total: i64) -> u64 {
    u64::try_from(total).unwrap_or(0)
}

// ---- template steps from the wire ----

/// Reads a template's `steps`: a list of `{name, param_values, retry:{retry_times,
/// ignore_error}}`. `retry_times` / `ignore_error` are also accepted beside `name` (the seed's
/// table puts them there), and `retry` / `param_values` may be absent or empty.
pub fn parse_steps(value: &Value) -> Result<Vec<TemplateStep>, Error> {
    let Value::Array(items) = value else {
        return Err(Error::BadArgument("`steps` must be a list of steps".into()));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| parse_step(i, item))
        .collect()
}

fn parse_step(index: usize, item: &Value) -> Result<TemplateStep, Error> {
    let at = |what: &str| format!("steps[{index}].{what}");
    let Value::Object(fields) = item else {
        return Err(Error::BadArgument(format!(
            "steps[{index}] must be an object"
        )));
    };
    for key in fields.keys() {
        if ![
            "name",
            "param_values",
            "retry",
            "retry_times",
            "ignore_error",
        ]
        .contains(&key.as_str())
        {
            return Err(Error::BadArgument(format!(
                "unknown parameter `{}`",
                at(key)
            )));
        }
    }
    let name = match fields.get("name") {
        Some(Value::String(s)) => check_name(&at("name"), s)?,
        None | Some(Value::Null) => {
            return Err(Error::BadArgument(format!(
                "missing parameter `{}`",
                at("name")
            )))
        }
        Some(_) => {
            return Err(Error::BadArgument(format!(
                "`{}` must be a string",
                at("name")
            )))
        }
    };
    let param_values = match fields.get("param_values") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(Error::BadArgument(format!(
                "`{}` must be an object",
                at("param_values")
            )))
        }
    };
    let nested = match fields.get("retry") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(Error::BadArgument(format!(
                "`{}` must be an object",
                at("retry")
            )))
        }
    };
    for key in nested.keys() {
        if key != "retry_times" && key != "ignore_error" {
            return Err(Error::BadArgument(format!(
                "unknown parameter `{}.{key}`",
                at("retry")
            )));
        }
    }
    let times = nested
        .get("retry_times")
        .or_else(|| fields.get("retry_times"));
    let ignore = nested
        .get("ignore_error")
        .or_else(|| fields.get("ignore_error"));
    Ok(TemplateStep {
        name,
        param_values,
        retry: Retry {
            retry_times: retry_times(&at("retry.retry_times"), times)?,
            ignore_error: flag(&at("retry.ignore_error"), ignore)?,
        },
    })
}

fn retry_times(field: &str, value: Option<&Value>) -> Result<u32, Error> {
    let n = match value {
        None | Some(Value::Null) => return Ok(0),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match n {
        Some(n) if n <= MAX_RETRY_TIMES => Ok(n as u32),
        _ => Err(Error::BadArgument(format!(
            "`{field}` must be an integer from 0 to {MAX_RETRY_TIMES}"
        ))),
    }
}

fn flag(field: &str, value: Option<&Value>) -> Result<bool, Error> {
    match value {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(false),
        Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(true),
        Some(Value::String(s)) if s == "true" || s == "1" => Ok(true),
        Some(Value::String(s)) if s == "false" || s == "0" => Ok(false),
        Some(_) => Err(Error::BadArgument(format!(
            "`{field}` must be true or false"
        ))),
    }
}

// ---- actions ----

fn action_to_wire(row: ActionRow) -> Result<Action, Error> {
    Ok(Action {
        id: row.id,
        params: from_text("action params", &row.params)?,
        name: row.name,
        desc: row.descr,
    })
}

pub async fn list_actions(db: &Db, page: Page) -> Result<Paged<Action>, Error> {
    let (rows, total) = db
        .read(move |c| store::actions_page(c, page).map_err(Error::from))
        .await?;
    let items = rows
        .into_iter()
        .map(action_to_wire)
        .collect::<Result<_, _>>()?;
    Ok((items, count(total)))
}

pub async fn get_action(db: &Db, id: i64) -> Result<Action, Error> {
    let row = db
        .read(move |c| store::action(c, id).map_err(Error::from))
        .await?;
    action_to_wire(row.ok_or_else(|| action_not_found(id))?)
}

fn action_not_found(id: i64) -> Error {
    Error::NotFound(format!("action {id} not found"))
}

pub async fn create_action(db: &Db, input: ActionInput) -> Result<i64, Error> {
    let name = check_name("name", &required(input.name, "name")?)?;
    let desc = input.desc.unwrap_or_default();
    let params = to_text(&input.params.unwrap_or_default())?;
    catalog_write(db, move |c| {
        if store::action_by_name(c, &name)?.is_some() {
            return Err(Error::Conflict(format!("action `{name}` already exists")));
        }
        Ok(store::insert_action(c, &name, &desc, &params)?)
    })
    .await
}

pub async fn update_action(db: &Db, id: i64, input: ActionInput) -> Result<(), Error> {
    let name = input.name.map(|n| check_name("name", &n)).transpose()?;
    let params = input.params.map(|p| to_text(&p)).transpose()?;
    catalog_write(db, move |c| {
        let mut row = store::action(c, id)?.ok_or_else(|| action_not_found(id))?;
        if let Some(name) = name.filter(|n| *n != row.name) {
            if store::action_by_name(c, &name)?.is_some() {
                return Err(Error::Conflict(format!("action `{name}` already exists")));
            }
            // Remote steps name their actions: a rename would leave them pointing at nothing.
            if let Some(step) = steps_using_action(c, &row.name)?.first() {
                return Err(Error::Conflict(format!(
                    "action `{}` cannot be renamed: remote step `{step}` uses it",
                    row.name
                )));
            }
            row.name = name;
        }
        if let Some(desc) = input.desc {
            row.descr = desc;
        }
        if let Some(params) = params {
            row.params = params;
        }
        store::update_action(c, &row)?;
        Ok(())
    })
    .await
}

pub async fn delete_action(db: &Db, id: i64) -> Result<(), Error> {
    catalog_write(db, move |c| {
        let row = store::action(c, id)?.ok_or_else(|| action_not_found(id))?;
        if let Some(step) = steps_using_action(c, &row.name)?.first() {
            return Err(Error::Conflict(format!(
                "action `{}` is used by remote step `{step}`",
                row.name
            )));
        }
        let impls = store::impls_of_action(c, id)?;
        if impls > 0 {
            return Err(Error::Conflict(format!(
                "action `{}` still has {impls} implementation(s): delete them first",
                row.name
            )));
        }
        store::delete_action(c, id)?;
        Ok(())
    })
    .await
}

/// Names of the remote steps whose action list holds `action`.
fn steps_using_action(c: &mut DbConn, action: &str) -> Result<Vec<String>, Error> {
    let mut names = Vec::new();
    for step in store::all_remote_steps(c)? {
        let actions: Vec<String> = from_text("remote step actions", &step.actions)?;
        if actions.iter().any(|a| a == action) {
            names.push(step.name);
        }
    }
    Ok(names)
}

// ---- action implementations ----

fn impl_to_wire(row: ActionImplRow) -> Result<ActionImpl, Error> {
    Ok(ActionImpl {
        id: row.id,
        impl_type: row.impl_type,
        action_id: row.action_id,
        template: from_text("action implementation template", &row.template)?,
    })
}

fn impl_not_found(id: i64) -> Error {
    Error::NotFound(format!("action implementation {id} not found"))
}

pub async fn list_action_impls(db: &Db, page: Page) -> Result<Paged<ActionImpl>, Error> {
    let (rows, total) = db
        .read(move |c| store::action_impls_page(c, page).map_err(Error::from))
        .await?;
    let items = rows
        .into_iter()
        .map(impl_to_wire)
        .collect::<Result<_, _>>()?;
    Ok((items, count(total)))
}

pub async fn get_action_impl(db: &Db, id: i64) -> Result<ActionImpl, Error> {
    let row = db
        .read(move |c| store::action_impl(c, id).map_err(Error::from))
        .await?;
    impl_to_wire(row.ok_or_else(|| impl_not_found(id))?)
}

fn check_impl_type(impl_type: &str) -> Result<String, Error> {
    let t = impl_type.trim();
    if t.is_empty() || t.len() > 64 {
        return Err(Error::BadArgument(
            "`type` must be 1 to 64 characters".into(),
        ));
    }
    Ok(t.to_string())
}

pub async fn create_action_impl(db: &Db, input: ActionImplInput) -> Result<i64, Error> {
    let action_id = required(input.action_id, "action_id")?;
    let impl_type = check_impl_type(&required(input.impl_type, "type")?)?;
    let template = to_text(&required(input.template, "template")?)?;
    catalog_write(db, move |c| {
        store::action(c, action_id)?.ok_or_else(|| action_not_found(action_id))?;
        Ok(store::insert_action_impl(
            c, action_id, &impl_type, &template,
        )?)
    })
    .await
}

pub async fn update_action_impl(db: &Db, id: i64, input: ActionImplInput) -> Result<(), Error> {
    let impl_type = input.impl_type.map(|t| check_impl_type(&t)).transpose()?;
    let template = input.template.map(|t| to_text(&t)).transpose()?;
    catalog_write(db, move |c| {
        let mut row = store::action_impl(c, id)?.ok_or_else(|| impl_not_found(id))?;
        if let Some(action_id) = input.action_id {
            store::action(c, action_id)?.ok_or_else(|| action_not_found(action_id))?;
            row.action_id = action_id;
        }
        if let Some(t) = impl_type {
            row.impl_type = t;
        }
        if let Some(t) = template {
            row.template = t;
        }
        store::update_action_impl(c, &row)?;
        Ok(())
    })
    .await
}

pub async fn delete_action_impl(db: &Db, id: i64) -> Result<(), Error> {
    catalog_write(db, move |c| {
        if store::delete_action_impl(c, id)? == 0 {
            return Err(impl_not_found(id));
        }
        Ok(())
    })
    .await
}

// ---- remote steps ----

fn step_to_wire(row: RemoteStepRow) -> Result<RemoteStep, Error> {
    let actions: Vec<String> = from_text("remote step actions", &row.actions)?;
    Ok(RemoteStep {
        id: row.id,
        actions_alias: actions.clone(),
        actions,
        name: row.name,
        desc: row.descr,
    })
}

fn step_not_found(id: i64) -> Error {
    Error::NotFound(format!("remote step {id} not found"))
}

pub async fn list_remote_steps(db: &Db, page: Page) -> Result<Paged<RemoteStep>, Error> {
    let (rows, total) = db
        .read(move |c| store::remote_steps_page(c, page).map_err(Error::from))
        .await?;
    let items = rows
        .into_iter()
        .map(step_to_wire)
        .collect::<Result<_, _>>()?;
    Ok((items, count(total)))
}

pub async fn get_remote_step(db: &Db, id: i64) -> Result<RemoteStep, Error> {
    let row = db
        .read(move |c| store::remote_step(c, id).map_err(Error::from))
        .await?;
    step_to_wire(row.ok_or_else(|| step_not_found(id))?)
}

/// The actions, each trimmed and existing; at least one.
fn check_actions(c: &mut DbConn, actions: &[String]) -> Result<Vec<String>, Error> {
    if actions.is_empty() {
        return Err(Error::BadArgument(
            "`actions` must name at least one action".into(),
        ));
    }
    let mut checked = Vec::with_capacity(actions.len());
    for (i, action) in actions.iter().enumerate() {
        let name = check_name(&format!("actions[{i}]"), action)?;
        if store::action_by_name(c, &name)?.is_none() {
            return Err(Error::NotFound(format!("action `{name}` not found")));
        }
        checked.push(name);
    }
    Ok(checked)
}

fn check_step_name(name: &str) -> Result<String, Error> {
    let name = check_name("name", name)?;
    if BuiltinStep::parse(&name).is_some() {
        return Err(Error::Conflict(format!(
            "`{name}` is the name of a built-in step"
        )));
    }
    Ok(name)
}

pub async fn create_remote_step(db: &Db, input: RemoteStepInput) -> Result<i64, Error> {
    let name = check_step_name(&required(input.name, "name")?)?;
    let desc = input.desc.unwrap_or_default();
    let actions = required(input.actions, "actions")?;
    catalog_write(db, move |c| {
        let actions = to_text(&check_actions(c, &actions)?)?;
        if store::remote_step_by_name(c, &name)?.is_some() {
            return Err(Error::Conflict(format!(
                "remote step `{name}` already exists"
            )));
        }
        Ok(store::insert_remote_step(c, &name, &desc, &actions)?)
    })
    .await
}

pub async fn update_remote_step(db: &Db, id: i64, input: RemoteStepInput) -> Result<(), Error> {
    let name = input.name.map(|n| check_step_name(&n)).transpose()?;
    catalog_write(db, move |c| {
        let mut row = store::remote_step(c, id)?.ok_or_else(|| step_not_found(id))?;
        if let Some(name) = name.filter(|n| *n != row.name) {
            if store::remote_step_by_name(c, &name)?.is_some() {
                return Err(Error::Conflict(format!(
                    "remote step `{name}` already exists"
                )));
            }
            // Templates name their steps: a rename would leave them pointing at nothing.
            if let Some(tpl) = templates_using_step(c, &row.name)?.first() {
                return Err(Error::Conflict(format!(
                    "remote step `{}` cannot be renamed: template {tpl} uses it",
                    row.name
                )));
            }
            row.name = name;
        }
        if let Some(desc) = input.desc {
            row.descr = desc;
        }
        if let Some(actions) = input.actions {
            row.actions = to_text(&check_actions(c, &actions)?)?;
        }
        store::update_remote_step(c, &row)?;
        Ok(())
    })
    .await
}

pub async fn delete_remote_step(db: &Db, id: i64) -> Result<(), Error> {
    catalog_write(db, move |c| {
        let row = store::remote_step(c, id)?.ok_or_else(|| step_not_found(id))?;
        if let Some(tpl) = templates_using_step(c, &row.name)?.first() {
            return Err(Error::Conflict(format!(
                "remote step `{}` is used by template {tpl}",
                row.name
            )));
        }
        store::delete_remote_step(c, id)?;
        Ok(())
    })
    .await
}

/// `"<id> `<name>`"` of the templates that have a step named `step`.
fn templates_using_step(c: &mut DbConn, step: &str) -> Result<Vec<String>, Error> {
    let mut found = Vec::new();
    for tpl in store::all_templates(c)? {
        let steps: Vec<TemplateStep> = from_text("template steps", &tpl.steps)?;
        if steps.iter().any(|s| s.name == step) {
            found.push(format!("{} `{}`", tpl.id, tpl.name));
        }
    }
    Ok(found)
}

// ---- templates (task impls) ----

fn template_to_wire(row: TemplateRow) -> Result<Template, Error> {
    Ok(Template {
        id: row.id,
        steps: from_text("template steps", &row.steps)?,
        name: row.name,
        desc: row.descr,
    })
}

fn template_not_found(id: i64) -> Error {
    Error::NotFound(format!("task template {id} not found"))
}

pub async fn list_templates(db: &Db, page: Page) -> Result<Paged<Template>, Error> {
    let (rows, total) = db
        .read(move |c| store::templates_page(c, page).map_err(Error::from))
        .await?;
    let items = rows
        .into_iter()
        .map(template_to_wire)
        .collect::<Result<_, _>>()?;
    Ok((items, count(total)))
}

pub async fn get_template(db: &Db, id: i64) -> Result<Template, Error> {
    let row = db
        .read(move |c| store::template(c, id).map_err(Error::from))
        .await?;
    template_to_wire(row.ok_or_else(|| template_not_found(id))?)
}

/// Every step must be a built-in step or an existing remote step.
fn check_template_steps(c: &mut DbConn, steps: &[TemplateStep]) -> Result<(), Error> {
    for step in steps {
        let builtin = BuiltinStep::parse(&step.name).is_some();
        if !builtin && store::remote_step_by_name(c, &step.name)?.is_none() {
            return Err(Error::NotFound(format!(
                "step name `{}` not found",
                step.name
            )));
        }
    }
    Ok(())
}

pub async fn create_template(db: &Db, input: TemplateInput) -> Result<i64, Error> {
    let name = check_name("name", &required(input.name, "name")?)?;
    let desc = input.desc.unwrap_or_default();
    let steps = required(input.steps, "steps")?;
    catalog_write(db, move |c| {
        check_template_steps(c, &steps)?;
        Ok(store::insert_template(c, &name, &desc, &to_text(&steps)?)?)
    })
    .await
}

pub async fn update_template(db: &Db, id: i64, input: TemplateInput) -> Result<(), Error> {
    let name = input.name.map(|n| check_name("name", &n)).transpose()?;
    catalog_write(db, move |c| {
        let mut row = store::template(c, id)?.ok_or_else(|| template_not_found(id))?;
        if let Some(name) = name {
            row.name = name;
        }
        if let Some(desc) = input.desc {
            row.descr = desc;
        }
        if let Some(steps) = input.steps {
            check_template_steps(c, &steps)?;
            row.steps = to_text(&steps)?;
        }
        store::update_template(c, &row)?;
        Ok(())
    })
    .await
}

pub async fn delete_template(db: &Db, id: i64) -> Result<(), Error> {
    catalog_write(db, move |c| {
        store::template(c, id)?.ok_or_else(|| template_not_found(id))?;
        let busy = store::flows_of_template_in(c, id, &UNFINISHED)?;
        if let Some(fid) = busy.first() {
            return Err(Error::Conflict(format!(
                "task template {id} is used by unfinished task {fid}"
            )));
        }
        store::delete_template(c, id)?;
        Ok(())
    })
    .await
}

// ---- task steps ----

/// The built-in steps' parameters (see proto-docs/platform-flow.md). Each is looked up like a
/// remote step's placeholder: the step's `param_values`, the task's `params`, the node.
fn builtin_step(step: BuiltinStep) -> TaskStep {
    let (desc, params): (&str, &[(&str, &str)]) = match step {
        BuiltinStep::CreateVm => (
            "create the node's instance in cloud-portal (reuses the node's vm_id while its instance exists); sets ip, vm_id, instance_id",
            &[("vm_type_id", "integer")],
        ),
        BuiltinStep::ReturnVm => (
            "give the node's instance (vm_id) back to cloud-portal; sets returned",
            &[],
        ),
        BuiltinStep::Register => (
            "register the node (ip:port) in soa-registry, creating the service if missing; sets soa_key",
            &[("service", "string"), ("port", "integer"), ("zkidc", "string")],
        ),
        BuiltinStep::Unregister => (
            "remove the node from soa-registry (by soa_key, else by ip:port)",
            &[("service", "string"), ("port", "integer"), ("zkidc", "string")],
        ),
        BuiltinStep::RecordCi => (
            "record the node as a CI in cmdb, under its pool and service CIs; sets ci_id",
            &[
                ("service_name", "string"),
                ("pool", "string"),
                ("cluster", "string"),
                ("ci_type", "string"),
            ],
        ),
        BuiltinStep::RemoveCi => (
            "delete the node's CI from cmdb (by ci_id, else by ip)",
            &[("ci_type", "string")],
        ),
    };
    TaskStep {
        id: 0,
        name: step.name().to_string(),
        desc: desc.to_string(),
        step_type: "builtin".to_string(),
        params: params
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
    }
}

/// The built-in steps, then every remote step with the union of its actions' parameters.
pub async fn list_task_steps(db: &Db, page: Page) -> Result<Paged<TaskStep>, Error> {
    let (steps, actions) = db
        .read(|c| -> Result<_, Error> { Ok((store::all_remote_steps(c)?, store::all_actions(c)?)) })
        .await?;
    let mut all: Vec<TaskStep> = BuiltinStep::ALL.into_iter().map(builtin_step).collect();
    for step in steps {
        let names: Vec<String> = from_text("remote step actions", &step.actions)?;
        let wanted: HashSet<&str> = names.iter().map(String::as_str).collect();
        let mut params = Map::new();
        for action in actions.iter().filter(|a| wanted.contains(a.name.as_str())) {
            let schema: Map<String, Value> = from_text("action params", &action.params)?;
            for (k, v) in schema {
                params.entry(k).or_insert(v);
            }
        }
        all.push(TaskStep {
            id: step.id,
            name: step.name,
            desc: step.descr,
            step_type: "remote".to_string(),
            params,
        });
    }
    let total = all.len() as u64;
    let start = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let items = all
        .into_iter()
        .skip(start)
        .take(page.page_size as usize)
        .collect();
    Ok((items, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_one_line_without_control_characters() {
        assert_eq!(check_name("name", " deploy ").ok(), Some("deploy".into()));
        for bad in ["a\nb", "a\u{1b}[31m", "nul\0"] {
            let err = check_name("name", bad).expect_err(bad);
            assert!(err.to_string().contains("`name`"), "{err}");
        }
    }

    #[test]
    fn steps_take_retry_nested_or_beside_the_name() {
        let steps = parse_steps(&json!([
            {"name": "a", "param_values": {"x": 1}, "retry": {"retry_times": 2, "ignore_error": true}},
            {"name": "b", "retry_times": "3", "ignore_error": 0},
            {"name": "c", "retry": {}}
        ]))
        .expect("valid steps");
        let retries: Vec<Retry> = steps.iter().map(|s| s.retry).collect();
        assert_eq!(
            retries,
            vec![
                Retry {
                    retry_times: 2,
                    ignore_error: true
                },
                Retry {
                    retry_times: 3,
                    ignore_error: false
                },
                Retry {
                    retry_times: 0,
                    ignore_error: false
                },
            ]
        );
        assert_eq!(steps[0].param_values.get("x"), Some(&json!(1)));
        assert!(steps[2].param_values.is_empty());
    }

    #[test]
    fn steps_with_bad_fields_are_refused_naming_the_field() {
        let cases = [
            (json!([{"name": "a", "typo": 1}]), "steps[0].typo"),
            (
                json!([{"name": "a", "retry": {"retry_times": -1}}]),
                "steps[0].retry.retry_times",
            ),
            (
                json!([{"name": "a", "retry": {"ignore_error": "maybe"}}]),
                "ignore_error",
            ),
            (json!([{"name": 5}]), "steps[0].name"),
            (json!([{"name": "a"}, "b"]), "steps[1]"),
            (json!({"name": "a"}), "steps"),
        ];
        for (value, needle) in cases {
            let err = parse_steps(&value).expect_err("refused").to_string();
            assert!(err.contains(needle), "`{err}` should name `{needle}`");
        }
    }
}
