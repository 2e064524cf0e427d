//! task-engine: actions, action implementations, remote steps, templates (task impls), task
//! steps, tasks (flows) and their logs (see `proto-docs/task-engine.md`).
//!
//! Every answer is a [`Reply`] (`{"code":0,"msg":"success","data":...}`); lists are a
//! [`ListReply`] that adds `page`, `page_size` and `query_count`. An error carries its HTTP
//! status as `code` and says what is wrong in `msg`.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use serde_repr::{Deserialize_repr, Serialize_repr};

/// The envelope of every answer but lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reply<T> {
    pub code: i64,
    pub msg: String,
    pub data: Option<T>,
}

/// The envelope of lists.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListReply<T> {
    pub code: i64,
    pub msg: String,
    pub data: Vec<T>,
    pub page: u64,
    pub page_size: u64,
    /// Rows matching the query on every page, not only this one.
    pub query_count: u64,
}

/// One page of a list, as the client returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Listed<T> {
    pub data: Vec<T>,
    pub page: u64,
    pub page_size: u64,
    pub query_count: u64,
}

/// State of a task, a batch and a node; on the wire, its number (`"state": 2`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize_repr, Deserialize_repr)]
#[repr(i32)]
pub enum TaskState {
    Init = 0,
    Running = 1,
    Success = 2,
    Failed = 3,
    Stopped = 4,
    /// A task (never a node) paused by `/task/pause`: its nodes wait at a step boundary as
    /// INIT with their `step`, and `/task/start` resumes them. Not counted in `stat`, which
    /// counts node states only.
    Paused = 5,
}

/// A number that is not a [`TaskState`] (read from a database or a peer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a task state (0 INIT .. 5 PAUSED)")]
pub struct UnknownTaskState(pub i32);

impl TaskState {
    /// Its number on the wire and in the database.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// Its name in log rows: `INIT`, `RUNNING`, `SUCCESS`, `FAILED`, `STOPPED`, `PAUSED`.
    pub fn name(self) -> &'static str {
        match self {
            TaskState::Init => "INIT",
            TaskState::Running => "RUNNING",
            TaskState::Success => "SUCCESS",
            TaskState::Failed => "FAILED",
            TaskState::Stopped => "STOPPED",
            TaskState::Paused => "PAUSED",
        }
    }
}

impl From<TaskState> for i32 {
    fn from(state: TaskState) -> i32 {
        state.code()
    }
}

impl TryFrom<i32> for TaskState {
    type Error = UnknownTaskState;

    fn try_from(code: i32) -> Result<Self, Self::Error> {
        Ok(match code {
            0 => TaskState::Init,
            1 => TaskState::Running,
            2 => TaskState::Success,
            3 => TaskState::Failed,
            4 => TaskState::Stopped,
            5 => TaskState::Paused,
            other => return Err(UnknownTaskState(other)),
        })
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Use [`TaskState::Init`].
pub const STATE_INIT: TaskState = TaskState::Init;
/// Use [`TaskState::Running`].
pub const STATE_RUNNING: TaskState = TaskState::Running;
/// Use [`TaskState::Success`].
pub const STATE_SUCCESS: TaskState = TaskState::Success;
/// Use [`TaskState::Failed`].
pub const STATE_FAILED: TaskState = TaskState::Failed;
/// Use [`TaskState::Stopped`].
pub const STATE_STOPPED: TaskState = TaskState::Stopped;
/// Use [`TaskState::Paused`].
pub const STATE_PAUSED: TaskState = TaskState::Paused;
/// How many node states there are (0–4): the length of `stat`.
pub const STATE_COUNT: usize = 5;

/// A built-in step: a template step with one of these names runs in the engine itself
/// (through `crates/client`) instead of on the node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinStep {
    CreateVm,
    ReturnVm,
    Register,
    Unregister,
    RecordCi,
    RemoveCi,
}

impl BuiltinStep {
    /// Every built-in step, in the order `/task_step/list` shows them.
    pub const ALL: [BuiltinStep; 6] = [
        BuiltinStep::CreateVm,
        BuiltinStep::ReturnVm,
        BuiltinStep::Register,
        BuiltinStep::Unregister,
        BuiltinStep::RecordCi,
        BuiltinStep::RemoveCi,
    ];

    /// Its name in a template.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinStep::CreateVm => "create_vm",
            BuiltinStep::ReturnVm => "return_vm",
            BuiltinStep::Register => "register",
            BuiltinStep::Unregister => "unregister",
            BuiltinStep::RecordCi => "record_ci",
            BuiltinStep::RemoveCi => "remove_ci",
        }
    }

    /// The built-in step named `name`; `None` for any other name (a remote step's).
    pub fn parse(name: &str) -> Option<BuiltinStep> {
        BuiltinStep::ALL
            .into_iter()
            .find(|step| step.name() == name)
    }
}

impl fmt::Display for BuiltinStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The body the engine POSTs to a task's `notify_url`: the task's state, and the node that
/// changed (null for an event of the task itself).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskEvent {
    pub fid: i64,
    pub state: TaskState,
    pub node_id: Option<i64>,
}

/// A remote command: `params` is its parameter schema, e.g. `{"host":"string"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    pub id: i64,
    pub name: String,
    pub desc: String,
    pub params: Map<String, Value>,
}

/// How an action is carried out: `type` (e.g. `ansible`) and its `template`, e.g.
/// `{"action":{"module":"shell","args":"echo {{word}}"}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionImpl {
    pub id: i64,
    #[serde(rename = "type")]
    pub impl_type: String,
    pub action_id: i64,
    pub template: Map<String, Value>,
}

/// An ordered list of action names, usable as a template step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteStep {
    pub id: i64,
    pub name: String,
    pub desc: String,
    pub actions: Vec<String>,
    /// The same list under the key the seed's list example uses.
    #[serde(rename = "action")]
    pub actions_alias: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Retry {
    pub retry_times: u32,
    pub ignore_error: bool,
}

/// One step of a template: a built-in step or a remote step, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TemplateStep {
    pub name: String,
    pub param_values: Map<String, Value>,
    pub retry: Retry,
}

/// A task template (the seed calls it a task impl too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Template {
    pub id: i64,
    pub name: String,
    pub desc: String,
    pub steps: Vec<TemplateStep>,
}

/// A step a template may use (`/task_step/list`). Built-in steps have `id` 0 and `type`
/// `builtin`; remote steps their own id and `type` `remote`, with the union of their actions'
/// parameters as `params`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskStep {
    pub id: i64,
    pub name: String,
    pub desc: String,
    #[serde(rename = "type")]
    pub step_type: String,
    pub params: Map<String, Value>,
}

/// A task (flow). `Stat` and `Created` repeat `stat` and `created` for the original web client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub id: i64,
    pub template_id: i64,
    pub template_name: String,
    pub task_name: String,
    pub pool_name: String,
    /// The task's state (0 INIT .. 5 PAUSED), under the seed's key.
    #[serde(rename = "Status")]
    pub status: TaskState,
    /// The template's steps as they were when the task was created.
    pub options: Vec<TemplateStep>,
    pub step_len: i64,
    pub opr_user: String,
    pub params: Map<String, Value>,
    pub max_num: i64,
    pub max_ratio: i64,
    pub timeout: i64,
    pub auto: bool,
    pub batch_size: i64,
    pub batch_count: i64,
    pub created: String,
    #[serde(rename = "Created")]
    pub created_alias: String,
    pub updated: String,
    /// Node counts per state, indexed by state: `[init, running, success, failed, stopped]`.
    pub stat: Vec<i64>,
    #[serde(rename = "Stat")]
    pub stat_alias: Vec<i64>,
}

/// One node of a task (`/task/:id/detail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskNode {
    /// The node's id in the task (`nsid` of the node log).
    pub id: i64,
    pub fid: i64,
    pub ip: String,
    pub state: TaskState,
    pub batch_id: i64,
    /// Index (from 0) of the step the node is at, and its name (empty once past the last).
    pub step: i64,
    pub step_name: String,
    /// Each step the node has reached, by name, with its state (empty until it runs).
    pub steps: Map<String, Value>,
    /// The node as the task's creator sent it (its `ip`, `vm_id`, ...).
    pub vars: Map<String, Value>,
    pub pool_name: String,
    pub vm_id: String,
    pub created: String,
    #[serde(rename = "Created")]
    pub created_alias: String,
    pub updated: String,
}

/// One log row of a task or a node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRow {
    pub id: i64,
    pub fid: i64,
    pub batch_id: i64,
    /// `"<fid>-<batch_id>"`.
    pub correlation_id: String,
    /// The node the row is about, when it is about one.
    pub node_id: Option<i64>,
    pub message: String,
    /// Unix seconds.
    pub ctime: i64,
}

// ---- requests (create and update; on update an absent field keeps its value) ----

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ActionImplRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action_id: Option<i64>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub impl_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RemoteStepRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TemplateRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub desc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<TemplateStep>>,
}

/// `/task/create`. `nodes` is a list of node objects (`{"ip": ...}`) or addresses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskRequest {
    pub template_id: i64,
    pub task_name: String,
    pub opr_user: String,
    pub nodes: Vec<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_num: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_ratio: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto: Option<bool>,
    /// Where the engine POSTs `{"fid", "state", "node_id"}` after each node state change and
    /// at the task's end (http or https; best effort).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_url: Option<String>,
    /// The cluster the task belongs to (beyond the seed): creating and controlling it then
    /// needs the operator role on that cluster. The orchestrator sets its pool's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_id: Option<i64>,
}

/// The header that makes `/task/create` safe to retry: a second request with the same key from
/// the same creator answers the task the first created (draft-ietf-httpapi-idempotency-key).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set (`true`) on an answer that is the replay of an earlier creation with the same key.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_state_travels_as_its_number() {
        for (state, code) in [
            (TaskState::Init, 0),
            (TaskState::Running, 1),
            (TaskState::Success, 2),
            (TaskState::Failed, 3),
            (TaskState::Stopped, 4),
            (TaskState::Paused, 5),
        ] {
            assert_eq!(
                serde_json::to_string(&state).expect("serialize"),
                code.to_string()
            );
            let back: TaskState = serde_json::from_str(&code.to_string()).expect("deserialize");
            assert_eq!(back, state);
            assert_eq!(TaskState::try_from(code), Ok(state));
            assert_eq!(i32::from(state), code);
        }
        assert_eq!(TaskState::try_from(6), Err(UnknownTaskState(6)));
        assert!(serde_json::from_str::<TaskState>("6").is_err());
        assert!(serde_json::from_str::<TaskState>("\"2\"").is_err());
        let event = TaskEvent {
            fid: 7,
            state: TaskState::Failed,
            node_id: None,
        };
        assert_eq!(
            serde_json::to_string(&event).expect("serialize"),
            r#"{"fid":7,"state":3,"node_id":null}"#
        );
    }

    #[test]
    fn builtin_steps_are_found_by_name_only() {
        for step in BuiltinStep::ALL {
            assert_eq!(BuiltinStep::parse(step.name()), Some(step));
        }
        let names: Vec<&str> = BuiltinStep::ALL.iter().map(|s| s.name()).collect();
        assert_eq!(
            names,
            [
                "create_vm",
                "return_vm",
                "register",
                "unregister",
                "record_ci",
                "remove_ci"
            ]
        );
        assert_eq!(BuiltinStep::parse("Create_vm"), None);
        assert_eq!(BuiltinStep::parse("deploy"), None);
    }
}
