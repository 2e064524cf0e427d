//! Actions, action implementations, remote steps, templates and task steps.

use client::{Encoding, Method};
use kit::testing::TestBackend;
use serde_json::json;
use wire::task_engine as w;

use crate::support::{assert_api_error, assert_error, object, step, TestApp};

kit::on_both_backends!(
    actions_are_created_read_listed_updated_and_deleted,
    an_action_used_by_a_remote_step_or_with_implementations_is_not_deleted,
    action_implementations_are_served_under_both_prefixes,
    remote_steps_name_existing_actions_and_are_not_deleted_while_a_template_uses_them,
    templates_are_served_under_task_tpl_and_task_impl,
    task_steps_list_built_ins_then_remote_steps_with_their_parameters,
    names_are_unique_and_built_in_step_names_are_reserved,
    the_openapi_description_lists_every_route,
);

async fn actions_are_created_read_listed_updated_and_deleted(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    let first = app
        .action("check_port", json!({"check_port": "integer"}))
        .await;
    let second = app.action("start_docker", json!({"host": "string"})).await;
    assert!(second > first);

    let got = c.action(first).await.expect("action read");
    assert_eq!(got.name, "check_port");
    assert_eq!(got.desc, "check_port desc");
    assert_eq!(got.params, object(json!({"check_port": "integer"})));

    let page = c.actions(1, 1).await.expect("listed");
    assert_eq!((page.page, page.page_size, page.query_count), (1, 1, 2));
    assert_eq!(page.data.len(), 1);
    assert_eq!(page.data[0].id, first);
    let page2 = c.actions(2, 1).await.expect("second page");
    assert_eq!(page2.data[0].id, second);

    // The seed's update example sends no name: absent fields keep their value.
    c.update_action(
        first,
        &w::ActionRequest {
            desc: Some("Command xx".into()),
            ..Default::default()
        },
    )
    .await
    .expect("updated");
    let got = c.action(first).await.expect("read again");
    assert_eq!(got.name, "check_port");
    assert_eq!(got.desc, "Command xx");
    assert_eq!(got.params, object(json!({"check_port": "integer"})));

    c.delete_action(first).await.expect("deleted");
    let gone = c.action(first).await.expect_err("deleted action is gone");
    assert_api_error(&gone, 404, &format!("action {first} not found"));
    assert_eq!(c.actions(1, 10).await.expect("listed").query_count, 1);
}

async fn an_action_used_by_a_remote_step_or_with_implementations_is_not_deleted(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    let action = app.action("echo", json!({"echo_word": "string"})).await;
    let step = app.remote_step("echo_step", &["echo"]).await;

    let refused = c.delete_action(action).await.expect_err("still used");
    assert_api_error(&refused, 409, "used by remote step `echo_step`");
    let rename = c
        .update_action(
            action,
            &w::ActionRequest {
                name: Some("echo2".into()),
                ..Default::default()
            },
        )
        .await
        .expect_err("renaming a used action is refused");
    assert_api_error(&rename, 409, "cannot be renamed");

    c.delete_remote_step(step).await.expect("step deleted");
    let imp = c
        .create_action_impl(&w::ActionImplRequest {
            action_id: Some(action),
            impl_type: Some("ansible".into()),
            template: Some(object(
                json!({"action": {"module": "shell", "args": "echo {{echo_word}}"}}),
            )),
        })
        .await
        .expect("implementation created");
    let refused = c
        .delete_action(action)
        .await
        .expect_err("has an implementation");
    assert_api_error(&refused, 409, "implementation");

    c.delete_action_impl(imp)
        .await
        .expect("implementation deleted");
    c.delete_action(action).await.expect("now the action goes");
}

async fn action_implementations_are_served_under_both_prefixes(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    let action = app.action("which", json!({"exec": "string"})).await;
    let template = json!({"action": {"module": "shell", "args": "which {{exec}}"}});

    // The seed's own example body for /actimpl/create.
    let reply = app
        .post(
            "/actimpl/create",
            json!({"action_id": action, "type": "ansible", "template": template}),
        )
        .await;
    assert_eq!(reply.body["code"], 0, "{}", reply.body);
    let id = reply.body["data"].as_i64().expect("the new id is the data");

    let got = c.action_impl(id).await.expect("read");
    assert_eq!(got.action_id, action);
    assert_eq!(got.impl_type, "ansible");
    assert_eq!(got.template, object(template.clone()));

    let via_alias = app.post(&format!("/action/impl/{id}"), json!({})).await;
    assert_eq!(via_alias.body["data"]["template"], template);
    let listed = app
        .post("/action/impl/list", json!({"page": 1, "page_size": 10}))
        .await;
    assert_eq!(listed.body["query_count"], 1);
    assert_eq!(listed.body["data"][0]["type"], "ansible");

    c.update_action_impl(
        id,
        &w::ActionImplRequest {
            impl_type: Some("shell".into()),
            ..Default::default()
        },
    )
    .await
    .expect("updated");
    let got = c.action_impl(id).await.expect("read again");
    assert_eq!((got.impl_type.as_str(), got.action_id), ("shell", action));

    let unknown = c
        .create_action_impl(&w::ActionImplRequest {
            action_id: Some(action + 1000),
            impl_type: Some("ansible".into()),
            template: Some(object(json!({}))),
        })
        .await
        .expect_err("unknown action");
    assert_api_error(
        &unknown,
        404,
        &format!("action {} not found", action + 1000),
    );

    let deleted = app
        .post(&format!("/action/impl/delete/{id}"), json!({}))
        .await;
    assert_eq!(deleted.body["code"], 0);
    let gone = c.action_impl(id).await.expect_err("gone");
    assert_api_error(&gone, 404, "action implementation");
}

async fn remote_steps_name_existing_actions_and_are_not_deleted_while_a_template_uses_them(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    app.action("action1", json!({"a": "string"})).await;
    app.action("action2", json!({"b": "integer"})).await;

    let unknown = c
        .create_remote_step(&w::RemoteStepRequest {
            name: Some("s".into()),
            desc: None,
            actions: Some(vec!["action1".into(), "nope".into()]),
        })
        .await
        .expect_err("unknown action");
    assert_api_error(&unknown, 404, "action `nope` not found");

    let id = app.remote_step("step", &["action1", "action2"]).await;
    let got = c.remote_step(id).await.expect("read");
    assert_eq!(got.actions, vec!["action1", "action2"]);
    assert_eq!(got.actions_alias, got.actions);
    let listed = c.remote_steps(1, 10).await.expect("listed");
    assert_eq!(listed.query_count, 1);
    assert_eq!(listed.data[0], got);

    c.update_remote_step(
        id,
        &w::RemoteStepRequest {
            actions: Some(vec!["action2".into()]),
            ..Default::default()
        },
    )
    .await
    .expect("updated");
    assert_eq!(
        c.remote_step(id).await.expect("read").actions,
        vec!["action2"]
    );

    let tpl = app.template("uses_step", &["create_vm", "step"]).await;
    let refused = c
        .delete_remote_step(id)
        .await
        .expect_err("used by a template");
    assert_api_error(&refused, 409, &format!("used by template {tpl}"));

    c.delete_template(tpl).await.expect("template deleted");
    c.delete_remote_step(id).await.expect("step deleted");
    assert_api_error(
        &c.remote_step(id).await.expect_err("gone"),
        404,
        "remote step",
    );
}

async fn templates_are_served_under_task_tpl_and_task_impl(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let c = &app.client;
    app.action("sleep_action", json!({"time": "integer"})).await;
    app.remote_step("sleep", &["sleep_action"]).await;

    // The seed's /task/impl/create example, verbatim.
    let reply = app
        .post(
            "/task/impl/create",
            json!({"name": "tpl1", "desc": "Template 1", "steps": [
                {"name": "sleep", "param_values": {"time": 1}, "retry": {"retry_times": 2, "ignore_error": false}},
                {"name": "create_vm", "param_values": {"vm_type_id": 1}, "retry": {"retry_times": 1, "ignore_error": true}}
            ]}),
        )
        .await;
    assert_eq!(reply.body["code"], 0, "{}", reply.body);
    let id = reply.body["data"].as_i64().expect("new id");

    let tpl = c.template(id).await.expect("read");
    assert_eq!(tpl.name, "tpl1");
    assert_eq!(tpl.steps.len(), 2);
    assert_eq!(
        tpl.steps[0].retry,
        w::Retry {
            retry_times: 2,
            ignore_error: false
        }
    );
    assert_eq!(
        tpl.steps[1].retry,
        w::Retry {
            retry_times: 1,
            ignore_error: true
        }
    );
    assert_eq!(tpl.steps[1].param_values, object(json!({"vm_type_id": 1})));

    let listed = app
        .post("/task/impl/list", json!({"page": 1, "page_size": 10}))
        .await;
    assert_eq!(listed.body["query_count"], 1);
    assert_eq!(listed.body["data"][0]["steps"][0]["name"], "sleep");

    // Retry fields beside the name (the seed's table), and an `id` in the body that differs
    // from the path (the seed's update example): the path wins.
    let updated = app
        .post(
            &format!("/task_tpl/update/{id}"),
            json!({"id": id + 50, "name": "SamplePlatform", "steps": [
                {"name": "create_vm", "param_values": {}, "retry_times": 3, "ignore_error": 1}
            ]}),
        )
        .await;
    assert_eq!(updated.body["code"], 0, "{}", updated.body);
    let tpl = c.template(id).await.expect("read again");
    assert_eq!(tpl.name, "SamplePlatform");
    assert_eq!(tpl.desc, "Template 1");
    assert_eq!(
        tpl.steps,
        vec![w::TemplateStep {
            name: "create_vm".into(),
            param_values: object(json!({})),
            retry: w::Retry {
                retry_times: 3,
                ignore_error: true
            },
        }]
    );

    let unknown = c
        .create_template(&w::TemplateRequest {
            name: Some("bad".into()),
            desc: None,
            steps: Some(vec![step("no_such_step")]),
        })
        .await
        .expect_err("unknown step");
    assert_api_error(&unknown, 404, "step name `no_such_step` not found");

    let deleted = app.post("/task/impl/delete", json!({"id": id})).await;
    assert_eq!(deleted.body["code"], 0, "{}", deleted.body);
    let again = app.post("/task/impl/delete", json!({"id": id})).await;
    assert_error(&again, 404, &format!("task template {id} not found"));
}

async fn task_steps_list_built_ins_then_remote_steps_with_their_parameters(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.action("a1", json!({"host": "string", "port": "integer"}))
        .await;
    app.action("a2", json!({"tag": "string", "host": "string"}))
        .await;
    let sid = app.remote_step("deploy", &["a1", "a2"]).await;

    let all = app.client.task_steps(1, 100).await.expect("listed");
    assert_eq!(all.query_count, 7);
    let names: Vec<&str> = all.data.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "create_vm",
            "return_vm",
            "register",
            "unregister",
            "record_ci",
            "remove_ci",
            "deploy"
        ]
    );
    assert!(all.data[..6]
        .iter()
        .all(|s| s.step_type == "builtin" && s.id == 0));
    // The built-ins list the parameters they read.
    let params = |name: &str| {
        let step = all.data.iter().find(|s| s.name == name).expect("listed");
        let mut keys: Vec<String> = step.params.keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(params("create_vm"), vec!["vm_type_id"]);
    assert!(params("return_vm").is_empty());
    assert_eq!(params("register"), vec!["port", "service", "zkidc"]);
    assert_eq!(params("unregister"), vec!["port", "service", "zkidc"]);
    assert_eq!(
        params("record_ci"),
        vec!["ci_type", "cluster", "pool", "service_name"]
    );
    assert_eq!(params("remove_ci"), vec!["ci_type"]);
    let deploy = &all.data[6];
    assert_eq!((deploy.id, deploy.step_type.as_str()), (sid, "remote"));
    assert_eq!(
        deploy.params,
        object(json!({"host": "string", "port": "integer", "tag": "string"}))
    );

    let page = app.client.task_steps(2, 4).await.expect("second page");
    assert_eq!((page.page, page.page_size, page.query_count), (2, 4, 7));
    let names: Vec<&str> = page.data.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["record_ci", "remove_ci", "deploy"]);

    // The seed's example asks with POST and a JSON body.
    let raw = app
        .send(
            Method::POST,
            "/task_step/list",
            Encoding::Json,
            json!({"page": 1, "page_size": 2}),
        )
        .await;
    assert_eq!(raw.body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(raw.body["query_count"], 7);
}

async fn names_are_unique_and_built_in_step_names_are_reserved(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    app.action("dup", json!({})).await;
    let again = app.post("/action/create", json!({"name": "dup"})).await;
    assert_error(&again, 409, "action `dup` already exists");

    app.remote_step("rs", &["dup"]).await;
    let again = app
        .post(
            "/remote_step/create",
            json!({"name": "rs", "actions": ["dup"]}),
        )
        .await;
    assert_error(&again, 409, "remote step `rs` already exists");
    let builtin = app
        .post(
            "/remote_step/create",
            json!({"name": "create_vm", "actions": ["dup"]}),
        )
        .await;
    assert_error(&builtin, 409, "built-in step");
}

async fn the_openapi_description_lists_every_route(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let raw = app
        .send(Method::GET, "/openapi.json", Encoding::Query, json!({}))
        .await;
    assert_eq!(raw.status.as_u16(), 200);
    assert_eq!(raw.body["openapi"], "3.0.3");
    let paths = raw.body["paths"].as_object().expect("paths");
    for path in [
        "/action/create",
        "/actimpl/create",
        "/remote_step/create",
        "/task_tpl/create",
        "/task_step/list",
        "/task/create",
        "/task/start",
        "/task/pause",
        "/task/stop",
        "/task/{id}/detail",
        "/task/node/{id}/log",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    let create =
        &paths["/task/create"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert!(create["properties"]["notify_url"].is_object(), "{create}");
    assert_eq!(create["required"][0], "template_id");
}
