//! Command injection (issue #11, item 1), against the real sshd: a node address never becomes
//! an option of `ssh` (the engine would run a `ProxyCommand` on its own host), and a value
//! filled into a `{{placeholder}}` stays one word of the command line.

use std::path::Path;
use std::time::Duration;

use client::RawReply;
use kit::testing::TestBackend;
use serde_json::{json, Value};
use wire::task_engine as w;

use crate::support::{assert_error, object, TestApp};

kit::on_both_backends!(
    a_node_address_ssh_would_read_as_an_option_is_refused_and_nothing_runs,
    filled_values_arrive_literally_and_run_nothing,
    ansible_gets_filled_values_as_values_and_never_as_templates,
);

/// Creates task `name` of template `tpl` on 127.0.0.2 with `params`, started at creation;
/// waits for its end.
async fn auto_on_one_node(
    app: &TestApp,
    tpl: i64,
    name: &str,
    params: serde_json::Map<String, Value>,
) -> (i64, w::Task) {
    let id = app
        .client
        .create_task(&w::TaskRequest {
            template_id: tpl,
            task_name: name.into(),
            opr_user: "it".into(),
            nodes: vec![json!({"ip": "127.0.0.2"})],
            params: Some(params),
            auto: Some(true),
            ..w::TaskRequest::default()
        })
        .await
        .expect("task created");
    (id, app.wait_finished(id).await)
}

/// POSTs `/task/create` for task `t` of template `tpl` on `nodes`, started at creation; the
/// answer as it came.
async fn create_auto(app: &TestApp, tpl: i64, nodes: Value) -> RawReply {
    app.post(
        "/task/create",
        json!({
            "template_id": tpl, "task_name": "t", "opr_user": "it",
            "nodes": nodes, "auto": true,
        }),
    )
    .await
}

/// Waits a moment for anything that might have been started, then says whether `marker`
/// exists.
async fn marker_appears(marker: &Path) -> bool {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    marker.exists()
}

async fn a_node_address_ssh_would_read_as_an_option_is_refused_and_nothing_runs(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().expect("a temp folder");
    let marker = dir.path().join("marker");
    // As reported: an action whose args are `hello`, a remote step, a template, then a task
    // created with `auto` whose node is an ssh option.
    app.remote("hello", json!({"module": "shell", "args": "echo hello"}))
        .await;
    let tpl = app.template("hostile", &["hello"]).await;
    let proxy = format!("-oProxyCommand=sh -c 'touch {}'", marker.display());
    let hostile = [
        proxy.clone(),
        format!("-oProxyCommand=touch{}", marker.display()),
        "-p".into(),
        "127.0.0.2 -oProxyCommand=x".into(),
        "127.0.0.2;id".into(),
        "$(id)".into(),
        "a\nb".into(),
        "0".into(),
    ];
    for node in hostile {
        for nodes in [json!([{ "ip": node }]), json!([node])] {
            let reply = create_auto(&app, tpl, nodes).await;
            assert_error(&reply, 400, "`nodes[0].ip`");
            let msg = reply.body["msg"].as_str().unwrap_or_default().to_string();
            assert!(
                msg.contains("not an IP address or a host name"),
                "{node:?}: {msg}"
            );
        }
    }
    // A hostile node among good ones: named by its place, and the task is not made.
    let reply = create_auto(&app, tpl, json!([{"ip": "127.0.0.2"}, {"ip": proxy}])).await;
    assert_error(&reply, 400, "`nodes[1].ip`");
    let listed = app.client.tasks(1, 10).await.expect("tasks listed");
    assert!(listed.data.is_empty(), "a task was made: {:?}", listed.data);
    assert!(
        !marker_appears(&marker).await,
        "the ProxyCommand ran on the engine host"
    );

    // Good addresses, given with spaces around, still run.
    let reply = create_auto(&app, tpl, json!([{"ip": " 127.0.0.2 "}, "localhost"])).await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.body);
    let id = reply.body["data"].as_i64().expect("a task id");
    let task = app.wait_finished(id).await;
    assert_eq!(task.status, w::STATE_SUCCESS, "{:?}", task.stat);
    let ips: Vec<String> = app
        .client
        .task_detail(id)
        .await
        .expect("detail")
        .into_iter()
        .map(|n| n.ip)
        .collect();
    assert_eq!(ips, ["127.0.0.2", "localhost"]);
}

async fn filled_values_arrive_literally_and_run_nothing(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let dir = tempfile::tempdir().expect("a temp folder");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).expect("the output folder");
    let marker = dir.path().join("marker");
    let m = marker.display().to_string();
    let values = [
        format!("a; touch {m}"),
        format!("$(touch {m})"),
        format!("`touch {m}`"),
        format!("it's \"quoted\" && touch {m}"),
        format!("line1\ntouch {m}\nline3"),
        format!("' ; touch {m} ; '"),
        format!("\\'; touch {m}"),
        "$HOME ~ * ? [a] {a,b} # not a comment".to_string(),
        String::new(),
    ];
    let names: Vec<String> = (0..values.len()).map(|i| format!("v{i}")).collect();
    let o = out.display();
    let shell: Vec<String> = names
        .iter()
        .map(|n| format!("printf %s {{{{{n}}}}} > {o}/shell-{n}"))
        .collect();
    app.remote(
        "write_shell",
        json!({"module": "shell", "args": shell.join("; ")}),
    )
    .await;
    let script: Vec<String> = names
        .iter()
        .map(|n| format!("printf %s {{{{ {n} }}}} > {o}/script-{n}"))
        .collect();
    app.remote(
        "write_script",
        json!({"module": "longscript", "content": format!("#!/bin/sh\n{}\n", script.join("\n"))}),
    )
    .await;
    // `| raw`: the template's author asks for the value as shell text.
    app.remote("raw", json!({"module": "shell", "args": "{{ cmd | raw }}"}))
        .await;
    let tpl = app
        .template("values", &["write_shell", "write_script", "raw"])
        .await;
    let mut params = serde_json::Map::new();
    for (name, value) in names.iter().zip(&values) {
        params.insert(name.clone(), Value::String(value.clone()));
    }
    params.insert(
        "cmd".into(),
        Value::String(format!("echo raw > {o}/raw && echo ok")),
    );
    let (_, task) = auto_on_one_node(&app, tpl, "values", params).await;
    assert_eq!(task.status, w::STATE_SUCCESS, "{:?}", task.stat);
    for (name, value) in names.iter().zip(&values) {
        for kind in ["shell", "script"] {
            let file = out.join(format!("{kind}-{name}"));
            let got = std::fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            assert_eq!(&got, value, "{kind} {name}");
        }
    }
    assert_eq!(
        std::fs::read_to_string(out.join("raw")).expect("the raw command ran"),
        "raw\n"
    );
    assert!(
        !marker_appears(&marker).await,
        "a filled value ran as a command"
    );
}

async fn ansible_gets_filled_values_as_values_and_never_as_templates(backend: TestBackend) {
    let app = TestApp::spawn_with_ansible(backend).await;
    let dir = tempfile::tempdir().expect("a temp folder");
    let marker = dir.path().join("marker");
    let m = marker.display().to_string();
    let dest = dir.path().join("copied.txt");
    // Free-form `key=value` arguments: the value stays one value, `dest=` inside it included.
    app.remote(
        "put",
        json!({"module": "copy", "args": format!("content={{{{v}}}} dest={}", dest.display())}),
    )
    .await;
    let tpl = app.template("ansible", &["put"]).await;
    let value = format!("it's \"q\" $(touch {m}) `touch {m}`; dest=/tmp/elsewhere\nline2 \\ end");
    let (_, task) = auto_on_one_node(&app, tpl, "ansible", object(json!({ "v": value }))).await;
    assert_eq!(task.status, w::STATE_SUCCESS, "{:?}", task.stat);
    assert_eq!(
        std::fs::read_to_string(&dest).expect("the copied file"),
        value
    );

    // A value that ansible would evaluate (on the engine host) fails the step; nothing runs.
    let lookup = format!("{{{{ lookup('pipe', 'touch {m}') }}}}");
    let (id, task) = auto_on_one_node(&app, tpl, "ansible", object(json!({ "v": lookup }))).await;
    assert_eq!(task.status, w::STATE_FAILED, "{:?}", task.stat);
    let node = &app.client.task_detail(id).await.expect("detail")[0];
    let log: Vec<String> = app
        .client
        .node_log(node.id)
        .await
        .expect("node log")
        .into_iter()
        .map(|r| r.message)
        .collect();
    assert!(
        log.iter().any(|l| l.contains("ansible would evaluate")),
        "{log:?}"
    );
    assert!(
        !marker_appears(&marker).await,
        "a filled value ran as a command"
    );
}
