//! The SSH executor against the real sshd of the harness: nodes are 127.0.0.x.

use serde_json::{json, Map, Value};
use task_engine::exec::{prepare, RemoteCommand, SshExecutor, StepExecutor, Vars};
use wire::host::HostAddress;

use crate::sshd;

fn map(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

struct Fixture {
    exec: SshExecutor,
    _dir: tempfile::TempDir,
}

/// A test address (known to be valid).
fn host(text: &str) -> HostAddress {
    HostAddress::parse(text).expect("a test address")
}

fn fixture() -> Fixture {
    let server = sshd::shared();
    let dir = tempfile::tempdir().expect("a temp folder");
    Fixture {
        exec: SshExecutor::new(sshd::ssh_config(server, dir.path())),
        _dir: dir,
    }
}

#[tokio::test]
async fn a_command_runs_on_the_host_it_was_meant_for() {
    let f = fixture();
    let port = sshd::shared().port;
    for host_text in ["127.0.0.2", "127.0.0.3", "127.0.0.7"] {
        let out = f
            .exec
            .execute(
                &host(host_text),
                &RemoteCommand::Run("echo $SSH_CONNECTION".into()),
            )
            .await
            .expect("ssh runs");
        assert!(
            out.success(),
            "{}\n{}",
            out.log_text(),
            sshd::shared().log()
        );
        assert!(
            out.stdout
                .trim_end()
                .ends_with(&format!("{host_text} {port}")),
            "`{}` should end with `{host_text} {port}`",
            out.stdout
        );
    }
}

#[tokio::test]
async fn placeholders_are_filled_from_the_step_the_task_and_the_node() {
    let f = fixture();
    let step = map(json!({"word": "hello"}));
    let task = map(json!({"count": 3}));
    let node = map(json!({"ip": "127.0.0.4"}));
    let vars = Vars::new(&step, &task, &node);
    let template =
        json!({"action": {"module": "shell", "args": "echo {{word}} {{ count }} from {{ip}}"}});
    let command = prepare(&template, &vars).expect("filled");
    let out = f
        .exec
        .execute(&host("127.0.0.4"), &command)
        .await
        .expect("ssh runs");
    assert!(out.success(), "{}", out.log_text());
    assert_eq!(out.stdout, "hello 3 from 127.0.0.4\n");
}

#[tokio::test]
async fn an_unfilled_placeholder_is_named_and_nothing_runs() {
    let empty = Map::new();
    let node = map(json!({"ip": "127.0.0.2"}));
    let vars = Vars::new(&empty, &empty, &node);
    let template = json!({"action": {"module": "command", "args": "touch /tmp/x-{{missing}}"}});
    let err = prepare(&template, &vars).expect_err("unfilled");
    assert_eq!(err.to_string(), "placeholder `{{missing}}` has no value");
}

#[tokio::test]
async fn a_failing_command_keeps_its_status_and_both_streams() {
    let f = fixture();
    let out = f
        .exec
        .execute(
            &host("127.0.0.5"),
            &RemoteCommand::Run("echo to-out; echo to-err >&2; exit 3".into()),
        )
        .await
        .expect("ssh runs");
    assert!(!out.success());
    assert_eq!(out.exit_code, Some(3));
    assert_eq!(out.stdout, "to-out\n");
    assert_eq!(out.stderr, "to-err\n");
    let log = out.log_text();
    assert!(log.starts_with("exit 3\n"), "{log}");
}

#[tokio::test]
async fn a_longscript_is_uploaded_and_run() {
    let f = fixture();
    let script = "#!/bin/sh\nset -e\necho \"script on $(echo $SSH_CONNECTION | cut -d' ' -f3)\"\necho \"args: $#\"\nexit 4\n";
    let out = f
        .exec
        .execute(&host("127.0.0.6"), &RemoteCommand::Script(script.into()))
        .await
        .expect("ssh runs");
    assert_eq!(out.exit_code, Some(4), "{}", out.log_text());
    assert_eq!(out.stdout, "script on 127.0.0.6\nargs: 0\n");
}

#[tokio::test]
async fn output_is_bounded() {
    let server = sshd::shared();
    let dir = tempfile::tempdir().expect("a temp folder");
    let mut config = sshd::ssh_config(server, dir.path());
    config.max_output_bytes = 1000;
    let exec = SshExecutor::new(config);
    let out = exec
        .execute(
            &host("127.0.0.2"),
            &RemoteCommand::Run("head -c 100000 /dev/zero | tr '\\0' a".into()),
        )
        .await
        .expect("ssh runs");
    assert!(out.success(), "{}", out.log_text());
    assert_eq!(out.stdout.len(), 1000);
    assert!(out.stdout_truncated && !out.stderr_truncated);
}

#[tokio::test]
async fn an_unreachable_host_fails_with_ssh_status_255() {
    let server = sshd::shared();
    let dir = tempfile::tempdir().expect("a temp folder");
    let mut config = sshd::ssh_config(server, dir.path());
    config.port = sshd::free_port();
    let exec = SshExecutor::new(config);
    let out = exec
        .execute(&host("127.0.0.2"), &RemoteCommand::Run("true".into()))
        .await
        .expect("ssh runs");
    assert_eq!(out.exit_code, Some(255), "{}", out.log_text());
    assert!(out.stderr.contains("refused"), "{}", out.stderr);
}
