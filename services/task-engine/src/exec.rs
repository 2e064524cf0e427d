//! Remote execution: what an action implementation asks a node to do ([`RemoteCommand`], built
//! by [`prepare`] with `{{var}}` filling) and who does it ([`StepExecutor`]; the one
//! implementation, [`SshExecutor`], runs the system `ssh` client with connection reuse, and
//! `ansible` for modules other than shell / command / longscript).
//!
//! Nothing a task carries can become an option of `ssh` or `ansible`: the host is a
//! [`HostAddress`] (parsed where it entered) and comes after `--`; every value of `ansible`'s
//! options is attached to its option (`--user=...`); filled values are quoted for the shell
//! (or for ansible's `key=value` splitter) unless a template asks for `{{ name | raw }}`.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use crate::config::{AnsibleConfig, SshConfig};
use wire::host::HostAddress;

use crate::plan::{fill, segments, FillError, Quoting, Segment};

/// What one action does on a node, placeholders already filled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteCommand {
    /// `shell` / `command`: a command line run by the remote user's shell.
    Run(String),
    /// `longscript`: the content is uploaded (over the session's stdin) to a temp file on the
    /// node, run, and removed.
    Script(String),
    /// Any other module: `ansible all -i '<ip>,' -m <module> -a <args>`.
    Ansible { module: String, args: String },
}

/// Why an action implementation could not be turned into a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    #[error("{0}")]
    Fill(#[from] FillError),
    #[error("action implementation has no `action.module`")]
    NoModule,
    #[error("module `{0}` needs a string `{1}`")]
    MissingField(String, &'static str),
    #[error("module name `{0}` is not valid (letters, digits, `_`, `.` only)")]
    BadModule(String),
    #[error("a value filled into module `{0}` makes `{{{{`, `{{%` or `{{#`, which ansible would evaluate as a template on the engine host")]
    Jinja(String),
}

/// The variables a step sees, looked up in this order: the step's `param_values`, the task's
/// `params`, then the node's own variables (`ip`, `vm_id`, ...).
pub struct Vars<'a> {
    pub layers: Vec<&'a Map<String, Value>>,
}

impl<'a> Vars<'a> {
    pub fn new(
        step: &'a Map<String, Value>,
        task: &'a Map<String, Value>,
        node: &'a Map<String, Value>,
    ) -> Self {
        Vars {
            layers: vec![step, task, node],
        }
    }

    /// A value as text: strings as they are, anything else (not null) as JSON.
    pub fn get(&self, name: &str) -> Option<String> {
        self.layers
            .iter()
            .find_map(|layer| layer.get(name))
            .and_then(|value| match value {
                Value::Null => None,
                Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            })
    }
}

/// An action implementation's template (`{"action": {"module": "shell", "args": "..."}}`) as a
/// command for one node; an unfilled placeholder fails, naming it.
pub fn prepare(template: &Value, vars: &Vars<'_>) -> Result<RemoteCommand, PrepareError> {
    let action = template.get("action").unwrap_or(template);
    let module = action
        .get("module")
        .and_then(Value::as_str)
        .ok_or(PrepareError::NoModule)?;
    let text = |field: &'static str| {
        action
            .get(field)
            .and_then(Value::as_str)
            .ok_or_else(|| PrepareError::MissingField(module.to_string(), field))
    };
    let lookup = |name: &str| vars.get(name);
    match module {
        "shell" | "command" => Ok(RemoteCommand::Run(fill(
            text("args")?,
            Quoting::Shell,
            lookup,
        )?)),
        "longscript" => Ok(RemoteCommand::Script(fill(
            text("content")?,
            Quoting::Shell,
            lookup,
        )?)),
        other => {
            // Passed to ansible as one argument; a plain name keeps it from being an option.
            let plain = !other.is_empty()
                && other
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
            if !plain {
                return Err(PrepareError::BadModule(other.to_string()));
            }
            Ok(RemoteCommand::Ansible {
                module: other.to_string(),
                args: ansible_args(other, action, lookup)?,
            })
        }
    }
}

/// The `-a` of an ansible module: its `args` text (`key=value`, values quoted for ansible's
/// splitter), else its other fields as one JSON object (ansible reads `-a '{...}'` as the
/// module's arguments; values as they are), placeholders filled in every string.
fn ansible_args(
    module: &str,
    action: &Value,
    lookup: impl Fn(&str) -> Option<String> + Copy,
) -> Result<String, PrepareError> {
    if let Some(args) = action.get("args").and_then(Value::as_str) {
        return fill_for_ansible(module, args, Quoting::AnsibleKeyValue, lookup);
    }
    let mut fields = serde_json::Map::new();
    if let Some(all) = action.as_object() {
        for (key, value) in all.iter().filter(|(k, _)| k.as_str() != "module") {
            let value = match value {
                Value::String(s) => {
                    Value::String(fill_for_ansible(module, s, Quoting::Verbatim, lookup)?)
                }
                other => other.clone(),
            };
            fields.insert(key.clone(), value);
        }
    }
    Ok(Value::Object(fields).to_string())
}

/// Where ansible's templating starts: text holding one of these is evaluated by ansible, on
/// the engine host (where a `lookup('pipe', ...)` runs commands).
const JINJA_OPENERS: [&str; 3] = ["{{", "{%", "{#"];

fn jinja_openers(text: &str) -> usize {
    JINJA_OPENERS.iter().map(|o| text.matches(o).count()).sum()
}

/// `fill` for ansible: the filled text may hold no more template openers than the template's
/// own text (a value, alone or next to another, never makes one).
fn fill_for_ansible(
    module: &str,
    template: &str,
    quoting: Quoting,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<String, PrepareError> {
    let filled = fill(template, quoting, lookup)?;
    let own: usize = segments(template)?
        .iter()
        .map(|segment| match segment {
            Segment::Text(text) => jinja_openers(text),
            Segment::Placeholder { .. } => 0,
        })
        .sum();
    if jinja_openers(&filled) > own {
        return Err(PrepareError::Jinja(module.to_string()));
    }
    Ok(filled)
}

/// What a command did: its exit status and its output, each stream bounded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StepOutput {
    /// None when it was killed (signal or timeout).
    pub exit_code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub stdout_truncated: bool,
    pub stderr_truncated: bool,
    pub timed_out: bool,
}

impl StepOutput {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0)
    }

    /// The log text of the command: status, then each stream.
    pub fn log_text(&self) -> String {
        let status = match (self.exit_code, self.timed_out) {
            (_, true) => "timed out, killed".to_string(),
            (Some(code), _) => format!("exit {code}"),
            (None, _) => "killed by a signal".to_string(),
        };
        let cut = |t: bool| if t { " (truncated)" } else { "" };
        format!(
            "{status}\nstdout{}:\n{}\nstderr{}:\n{}",
            cut(self.stdout_truncated),
            self.stdout,
            cut(self.stderr_truncated),
            self.stderr
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("i/o with `{program}`: {source}")]
    Io {
        program: String,
        source: std::io::Error,
    },
    #[error("ansible is not installed (`{program}` not found; set `ansible.program`): module `{module}` needs it")]
    AnsibleMissing { program: String, module: String },
}

pub type ExecFuture<'a> = Pin<Box<dyn Future<Output = Result<StepOutput, ExecError>> + Send + 'a>>;

/// Runs one command on one host. A command that ran and failed is an `Ok` with a non-zero
/// status; `Err` means it could not be run at all (the executor itself is broken).
pub trait StepExecutor: Send + Sync {
    fn execute<'a>(&'a self, host: &'a HostAddress, command: &'a RemoteCommand) -> ExecFuture<'a>;
}

/// The shell line that receives a script on stdin, runs it and removes it, keeping its status.
const SCRIPT_RUNNER: &str = "f=$(mktemp \"${TMPDIR:-/tmp}/task-engine.XXXXXX\") && cat > \"$f\" \
     && chmod 700 \"$f\" && \"$f\" </dev/null; rc=$?; rm -f \"$f\"; exit $rc";

/// The system `ssh` client: `BatchMode`, the configured user, key, port and host-key policy,
/// and a ControlMaster socket per host so the steps of a node reuse one connection.
pub struct SshExecutor {
    config: SshConfig,
    ansible: AnsibleConfig,
}

/// Whether `program` can be run: a path that is a file, or a name found in `PATH`.
pub fn installed(program: &str) -> bool {
    if program.contains('/') {
        return std::path::Path::new(program).is_file();
    }
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

impl SshExecutor {
    pub fn new(config: SshConfig) -> Self {
        SshExecutor {
            config,
            ansible: AnsibleConfig::default(),
        }
    }

    /// The same executor, running other modules with this `ansible`.
    pub fn with_ansible(self, ansible: AnsibleConfig) -> Self {
        SshExecutor { ansible, ..self }
    }

    /// The arguments of `ansible` for `host`: the ssh user, key, port and host-key settings
    /// of `[ssh]`, one host, one module. Every value is attached to its option (`--user=x`),
    /// so none can be read as an option; the host is a validated address, the inventory
    /// `host,` (a list of one).
    pub fn ansible_args(&self, host: &HostAddress, module: &str, args: &str) -> Vec<String> {
        let c = &self.config;
        let mut out: Vec<String> = vec![
            "all".into(),
            format!("--inventory={host},"),
            format!("--module-name={module}"),
            format!("--args={args}"),
            format!("--user={}", c.user),
            format!("--extra-vars=ansible_port={}", c.port),
            format!("--timeout={}", c.connect_timeout_secs),
        ];
        if !c.key.is_empty() {
            out.push(format!("--private-key={}", c.key));
        }
        let interpreter = self.ansible.python_interpreter.trim();
        if !interpreter.is_empty() {
            out.push(format!(
                "--extra-vars=ansible_python_interpreter={interpreter}"
            ));
        }
        // Ansible splits this text with shlex: each part is a configuration value checked at
        // load to hold no space, quote or backslash.
        let mut common = format!(
            "-F /dev/null -o StrictHostKeyChecking={} -o UserKnownHostsFile={}",
            c.host_key_policy, c.known_hosts
        );
        if !c.kex_algorithms.is_empty() {
            common.push_str(&format!(" -o KexAlgorithms={}", c.kex_algorithms));
        }
        out.push(format!("--ssh-common-args={common}"));
        out
    }

    /// The arguments of `ssh` for `host`, ending `-- host` (the command follows): after `--`
    /// ssh reads no option, so the destination is never one.
    pub fn args(&self, host: &HostAddress) -> Vec<String> {
        let c = &self.config;
        let mut args: Vec<String> = vec![
            // No user or system ssh_config: only what is configured here applies.
            "-F".into(),
            "/dev/null".into(),
            "-T".into(),
            "-p".into(),
            c.port.to_string(),
            "-l".into(),
            c.user.clone(),
        ];
        if !c.key.is_empty() {
            args.extend(["-i".into(), c.key.clone()]);
            args.extend(["-o".into(), "IdentitiesOnly=yes".into()]);
        }
        let mut options = vec![
            "BatchMode=yes".to_string(),
            format!("StrictHostKeyChecking={}", c.host_key_policy),
            format!("UserKnownHostsFile={}", c.known_hosts),
            format!("ConnectTimeout={}", c.connect_timeout_secs),
            "LogLevel=ERROR".to_string(),
        ];
        if !c.kex_algorithms.is_empty() {
            options.push(format!("KexAlgorithms={}", c.kex_algorithms));
        }
        if c.control_persist_secs > 0 {
            let dir = if c.control_dir.is_empty() {
                std::env::temp_dir()
            } else {
                PathBuf::from(&c.control_dir)
            };
            options.push("ControlMaster=auto".into());
            // %C: a hash of host, port and user, short enough for a socket path.
            options.push(format!("ControlPath={}/te-%C", dir.display()));
            options.push(format!("ControlPersist={}s", c.control_persist_secs));
        }
        for option in options {
            args.extend(["-o".into(), option]);
        }
        args.extend(["--".into(), host.to_string()]);
        args
    }

    async fn run(
        &self,
        host: &HostAddress,
        command: &RemoteCommand,
    ) -> Result<StepOutput, ExecError> {
        let (program, line, input) = match command {
            RemoteCommand::Run(line) => (&self.config.program, line.as_str(), None),
            RemoteCommand::Script(content) => (
                &self.config.program,
                SCRIPT_RUNNER,
                Some(content.as_bytes()),
            ),
            RemoteCommand::Ansible { module, args } => {
                let program = &self.ansible.program;
                if !installed(program) {
                    return Err(ExecError::AnsibleMissing {
                        program: program.clone(),
                        module: module.clone(),
                    });
                }
                let mut command = Command::new(program);
                command.args(self.ansible_args(host, module, args));
                return self.collect(program, command, None).await;
            }
        };
        let mut command = Command::new(program);
        command.args(self.args(host)).arg(line);
        self.collect(program, command, input).await
    }

    /// Runs `command`, feeding it `input`, and collects its status and bounded output; killed
    /// after `ssh.command_timeout_secs`.
    async fn collect(
        &self,
        program: &str,
        mut command: Command,
        input: Option<&[u8]>,
    ) -> Result<StepOutput, ExecError> {
        let program = program.to_string();
        let mut child = command
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| ExecError::Spawn {
                program: program.clone(),
                source,
            })?;
        let io = |source| ExecError::Io {
            program: program.clone(),
            source,
        };
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        let limit = self.config.max_output_bytes;
        let work = async {
            let feed = async {
                if let (Some(mut pipe), Some(bytes)) = (stdin, input) {
                    // The remote side may exit early; a broken pipe then is not our error.
                    let _ = pipe.write_all(bytes).await;
                    let _ = pipe.shutdown().await;
                }
            };
            let (_, out, err, status) = tokio::join!(
                feed,
                read_bounded(stdout, limit),
                read_bounded(stderr, limit),
                child.wait()
            );
            Ok::<_, std::io::Error>((out?, err?, status?))
        };
        let timeout = Duration::from_secs(self.config.command_timeout_secs);
        match tokio::time::timeout(timeout, work).await {
            Ok(result) => {
                let ((stdout, stdout_truncated), (stderr, stderr_truncated), status) =
                    result.map_err(io)?;
                Ok(StepOutput {
                    exit_code: status.code(),
                    stdout,
                    stderr,
                    stdout_truncated,
                    stderr_truncated,
                    timed_out: false,
                })
            }
            Err(_) => {
                // `work` (and with it the child, kill_on_drop) is gone.
                Ok(StepOutput {
                    exit_code: None,
                    timed_out: true,
                    ..StepOutput::default()
                })
            }
        }
    }
}

impl StepExecutor for SshExecutor {
    fn execute<'a>(&'a self, host: &'a HostAddress, command: &'a RemoteCommand) -> ExecFuture<'a> {
        Box::pin(self.run(host, command))
    }
}

/// Reads a stream to its end, keeping the first `limit` bytes; says whether it cut.
async fn read_bounded<R: AsyncRead + Unpin>(
    pipe: Option<R>,
    limit: usize,
) -> std::io::Result<(String, bool)> {
    let Some(mut pipe) = pipe else {
        return Ok((String::new(), false));
    };
    let mut kept = Vec::new();
    let mut truncated = false;
    let mut buf = [0u8; 8192];
    loop {
        let n = pipe.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        let room = limit.saturating_sub(kept.len());
        if n > room {
            truncated = true;
        }
        kept.extend_from_slice(&buf[..n.min(room)]);
    }
    Ok((String::from_utf8_lossy(&kept).into_owned(), truncated))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().expect("object")
    }

    #[test]
    fn variables_come_from_the_step_then_the_task_then_the_node() {
        let step = map(json!({"word": "step"}));
        let task = map(json!({"word": "task", "n": 3}));
        let node = map(json!({"ip": "10.0.0.1", "n": 4}));
        let vars = Vars::new(&step, &task, &node);
        assert_eq!(vars.get("word").as_deref(), Some("step"));
        assert_eq!(vars.get("n").as_deref(), Some("3"));
        assert_eq!(vars.get("ip").as_deref(), Some("10.0.0.1"));
        assert_eq!(vars.get("nope"), None);
    }

    #[test]
    fn modules_become_commands() {
        let empty = Map::new();
        let node = map(json!({"ip": "10.0.0.1"}));
        let vars = Vars::new(&empty, &empty, &node);
        let shell = json!({"action": {"module": "shell", "args": "echo {{ip}}"}});
        assert_eq!(
            prepare(&shell, &vars),
            Ok(RemoteCommand::Run("echo 10.0.0.1".into()))
        );
        let script =
            json!({"action": {"module": "longscript", "content": "#!/bin/sh\necho {{ip}}"}});
        assert_eq!(
            prepare(&script, &vars),
            Ok(RemoteCommand::Script("#!/bin/sh\necho 10.0.0.1".into()))
        );
        let unfilled = json!({"action": {"module": "command", "args": "echo {{port}}"}});
        assert_eq!(
            prepare(&unfilled, &vars).map_err(|e| e.to_string()),
            Err("placeholder `{{port}}` has no value".to_string())
        );
        let other = json!({"action": {"module": "copy", "src": "/a/{{ip}}", "dest": "/b c"}});
        let Ok(RemoteCommand::Ansible { module, args }) = prepare(&other, &vars) else {
            panic!("copy becomes an ansible module");
        };
        assert_eq!(module, "copy");
        // One JSON object: a value with a space needs no quoting.
        let args: Value = serde_json::from_str(&args).expect("the arguments are JSON");
        assert_eq!(args, json!({"src": "/a/10.0.0.1", "dest": "/b c"}));
        let with_args = json!({"action": {"module": "ping", "args": "data={{ip}}"}});
        assert_eq!(
            prepare(&with_args, &vars),
            Ok(RemoteCommand::Ansible {
                module: "ping".into(),
                args: "data=10.0.0.1".into()
            })
        );
        assert_eq!(
            prepare(&json!({"action": {"module": "-x"}}), &vars),
            Err(PrepareError::BadModule("-x".into()))
        );
        assert_eq!(
            prepare(&json!({"action": {"module": "shell"}}), &vars),
            Err(PrepareError::MissingField("shell".into(), "args"))
        );
    }

    #[test]
    fn ssh_arguments_carry_the_configuration() {
        let exec = SshExecutor::new(SshConfig {
            key: "/k/id".into(),
            port: 2222,
            user: "ops".into(),
            control_dir: "/run/te".into(),
            ..SshConfig::default()
        });
        let host = HostAddress::parse("10.0.0.9").expect("an address");
        let args = exec.args(&host).join(" ");
        for part in [
            "-p 2222",
            "-l ops",
            "-i /k/id",
            "-o BatchMode=yes",
            "-o StrictHostKeyChecking=accept-new",
            "-o ControlPath=/run/te/te-%C",
            "-o ControlPersist=60s",
        ] {
            assert!(args.contains(part), "`{args}` lacks `{part}`");
        }
        assert!(args.ends_with(" -- 10.0.0.9"), "{args}");
    }

    #[test]
    fn the_host_comes_after_double_dash_and_an_option_is_no_host() {
        // The type is the proof: text that ssh would read as an option is no HostAddress.
        for hostile in [
            "-oProxyCommand=sh -c 'touch marker'",
            "-oProxyCommand=touch",
            "--",
            "-p",
        ] {
            assert!(HostAddress::parse(hostile).is_err(), "{hostile}");
        }
        let exec = SshExecutor::new(SshConfig::default());
        let host = HostAddress::parse("web-01.example.com").expect("a name");
        let args = exec.args(&host);
        let n = args.len();
        assert_eq!(&args[n - 2..], ["--", "web-01.example.com"]);
        assert_eq!(args.iter().filter(|a| *a == "--").count(), 1);
        let ansible = exec.ansible_args(&host, "ping", "-x");
        assert_eq!(ansible[0], "all");
        // Every value is attached to its option: none is a word of its own that could be read
        // as an option.
        for arg in &ansible[1..] {
            assert!(arg.starts_with("--") && arg.contains('='), "{arg}");
        }
        assert!(ansible.contains(&"--inventory=web-01.example.com,".to_string()));
        assert!(ansible.contains(&"--args=-x".to_string()));
    }

    #[test]
    fn filled_values_stay_in_their_place() {
        let empty = Map::new();
        let step = map(json!({"v": "x; touch /tmp/m $(id) `id` 'q' \"d\"\nnext"}));
        let vars = Vars::new(&step, &empty, &empty);
        let shell = json!({"action": {"module": "shell", "args": "printf %s {{v}} > f"}});
        assert_eq!(
            prepare(&shell, &vars),
            Ok(RemoteCommand::Run(
                "printf %s 'x; touch /tmp/m $(id) `id` '\\''q'\\'' \"d\"\nnext' > f".into()
            ))
        );
        let raw = json!({"action": {"module": "shell", "args": "{{ v | raw }}"}});
        assert_eq!(
            prepare(&raw, &vars),
            Ok(RemoteCommand::Run(
                "x; touch /tmp/m $(id) `id` 'q' \"d\"\nnext".into()
            ))
        );
        let kv = json!({"action": {"module": "debug", "args": "msg={{v}}"}});
        assert_eq!(
            prepare(&kv, &vars),
            Ok(RemoteCommand::Ansible {
                module: "debug".into(),
                args: "msg='x; touch /tmp/m $(id) `id` \\'q\\' \"d\"\\nnext'".into()
            })
        );
    }

    #[test]
    fn ansible_never_receives_a_template_made_by_a_value() {
        let empty = Map::new();
        let step = map(json!({
            "j": "{{ lookup('pipe', 'touch /tmp/m') }}",
            "open": "x{",
            "rest": "{ lookup('pipe', 'id') }}",
            "stmt": "{% if true %}"
        }));
        let vars = Vars::new(&step, &empty, &empty);
        for template in [
            json!({"action": {"module": "copy", "content": "{{j}}", "dest": "/tmp/x"}}),
            json!({"action": {"module": "copy", "content": "{{open}}{{rest}}", "dest": "/x"}}),
            json!({"action": {"module": "copy", "content": "{{stmt}}", "dest": "/x"}}),
            json!({"action": {"module": "debug", "args": "msg={{ j | raw }}"}}),
        ] {
            assert_eq!(
                prepare(&template, &vars),
                Err(PrepareError::Jinja(
                    template["action"]["module"].as_str().unwrap_or("").into()
                )),
                "{template}"
            );
        }
        // The template's own `{%` stays allowed, and so does a value with a lone brace that
        // makes no opener.
        let own = json!({"action": {"module": "copy", "content": "{% if 1 %}{{open}} {% endif %}", "dest": "/x"}});
        assert!(prepare(&own, &vars).is_ok());
    }
}
