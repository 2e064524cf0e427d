//! The platform's central flow, end to end, with every service a process of its own on
//! MariaDB, soa-registry on a real ZooKeeper and an sshd on loopback as the hosts:
//! expand → deploy → a failing deploy resumed after the fault is fixed → shrink.

// Test code: a panic is how a test fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use client::CloudPortalClient;
use wire::cloud_portal::Image;

use dcp_e2e::{
    action, assert_ok, eventually, eventually_seen, in_state, nodes, post, step, template, text,
    web_pool, Platform,
};
use serde_json::json;

const SOA_SERVICE: &str = "com.dcp.e2e.web";
const SOA_PORT: u16 = 8080;
/// Loopback addresses cloud-portal hands out; all reach the test sshd.
const HOSTS: [&str; 4] = ["127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"];

/// The members of the soa service straight from ZooKeeper (not through soa-registry).
async fn zookeeper_members(platform: &Platform) -> Vec<String> {
    let zk = zookeeper_client::Client::connect(&platform.zk_connect)
        .await
        .expect("connect to ZooKeeper");
    match zk
        .list_children(&format!("/soa/services/{SOA_SERVICE}"))
        .await
    {
        Ok(children) => children,
        Err(zookeeper_client::Error::NoNode) => Vec::new(),
        Err(e) => panic!("list the service's members in ZooKeeper: {e}"),
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap_or_default()
}

/// A started platform with a shared folder for the hosts' files, and in cloud-portal one
/// image (the pool's vm_type) and the four loopback hosts of one slot each.
struct Stage {
    platform: Platform,
    /// The hosts' shared folder; `dir` is its path as a template parameter.
    work: PathBuf,
    dir: String,
    portal: CloudPortalClient,
    image: Image,
}

impl Stage {
    async fn start(image_name: &str) -> Stage {
        let platform = tokio::task::spawn_blocking(Platform::start)
            .await
            .expect("the platform starts");
        let work = platform.dir.path().join("hosts");
        std::fs::create_dir_all(&work).expect("the hosts' shared folder");
        let dir = work.display().to_string();
        let portal = platform.cloud_portal().await;
        let image = portal
            .add_image(image_name, Some("an image for the e2e suite"))
            .await
            .expect("add an image");
        let ssh = kit::testing::sshd::shared();
        for host in HOSTS {
            portal
                .add_host(host, ssh.port, 1)
                .await
                .expect("add a loopback host");
        }
        Stage {
            platform,
            work,
            dir,
            portal,
            image,
        }
    }
}

/// How many instance slots cloud-portal's hosts have in use, summed over all hosts.
async fn hosts_in_use(portal: &CloudPortalClient) -> i32 {
    portal
        .hosts()
        .await
        .expect("hosts")
        .iter()
        .map(|h| h.used)
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expand_deploy_fail_resume_and_shrink_across_the_platform() {
    let Stage {
        platform,
        work,
        dir,
        portal,
        image,
    } = Stage::start("e2e-image").await;
    let orch = platform.orchestrator();

    // Remote steps and templates, made through the orchestrator's front door.
    action(
        &platform,
        "e2e_prepare",
        "echo {{tag}} > {{dir}}/{{ip}}.prepared",
    )
    .await;
    action(
        &platform,
        "e2e_deploy",
        "test ! -e {{dir}}/{{ip}}.broken && echo {{tag}} > {{dir}}/{{ip}}.deployed",
    )
    .await;
    action(&platform, "e2e_clean", "rm -f {{dir}}/{{ip}}.prepared").await;
    let with_dir = json!({ "dir": dir });
    let expand_tpl = template(
        &platform,
        "e2e-expand",
        vec![
            step("create_vm", json!({})),
            step("e2e_prepare", with_dir.clone()),
            step("register", json!({})),
            step("record_ci", json!({})),
        ],
    )
    .await;
    let deploy_tpl = template(
        &platform,
        "e2e-deploy",
        vec![step("e2e_deploy", with_dir.clone())],
    )
    .await;
    let shrink_tpl = template(
        &platform,
        "e2e-shrink",
        vec![
            step("unregister", json!({})),
            step("e2e_clean", with_dir.clone()),
            step("return_vm", json!({})),
            step("remove_ci", json!({})),
        ],
    )
    .await;

    let pool_id = web_pool(
        &orch,
        image.id,
        SOA_SERVICE,
        SOA_PORT,
        [expand_tpl, shrink_tpl, deploy_tpl],
    )
    .await;

    // ---- from here on the flow is olga's: an operator granted on this pool's cluster only
    // (a viewer platform-wide); only service identities call between the services ----
    let admin_orch = orch;
    let pool = post(&admin_orch, &format!("/pool/{pool_id}"), json!({})).await;
    let service_id = pool.body["data"]["service_id"]
        .as_i64()
        .expect("the pool's service");
    let service = post(&admin_orch, &format!("/service/{service_id}"), json!({})).await;
    let cluster_id = service.body["data"]["cluster_id"]
        .as_i64()
        .expect("its cluster");
    let olga = platform
        .person_granted("olga", "operator", cluster_id)
        .await;
    let orch = platform.orchestrator_as(&olga);
    // Another cluster's pool: refused to olga (403), and nothing starts there.
    let other = other_cluster_pool(&admin_orch, image.id).await;
    let refused = post(&orch, &format!("/pool/expand/{other}"), json!({"num": 1})).await;
    assert_eq!(refused.status.as_u16(), 403, "{}", refused.body);
    assert!(nodes(&admin_orch, other).await.is_empty());

    // ---- expand by 3 ----
    let expand = post(&orch, &format!("/pool/expand/{pool_id}"), json!({"num": 3})).await;
    assert_ok(&expand, "expand");
    let expanded = eventually_seen(120, "three nodes ok after expand", &platform, || async {
        let all = nodes(&orch, pool_id).await;
        seen_unless(all.len() == 3 && in_state(&all, "ok").len() == 3, all)
    })
    .await;
    let ips: BTreeSet<String> = expanded.iter().map(|n| text(n, "ip")).collect();
    assert_eq!(ips.len(), 3, "three distinct IPs: {expanded:?}");
    for ip in &ips {
        assert!(
            HOSTS.contains(&ip.as_str()),
            "{ip} is a host cloud-portal handed out"
        );
        assert_eq!(
            read(&work, &format!("{ip}.prepared")).trim(),
            "registry.local/web:1.0",
            "the prepare step ran on {ip} with the service's image as tag"
        );
    }
    for node in &expanded {
        assert!(
            !text(node, "vm_id").is_empty(),
            "a node knows its instance: {node}"
        );
    }
    let members = zookeeper_members(&platform).await;
    assert_eq!(members.len(), 3, "three servers in ZooKeeper: {members:?}");
    let listed = platform
        .soa_registry()
        .server_list(SOA_SERVICE)
        .await
        .expect("soa-registry lists the service");
    let registered: BTreeSet<String> = listed.iter().map(|s| s.host.clone()).collect();
    assert_eq!(registered, ips, "soa-registry lists the nodes' IPs");
    let cmdb = platform.cmdb();
    let found = cmdb
        .search(json!({"_type": "dcp_node", "q": "pool:web-pool", "count": 10}))
        .await
        .expect("search the node CIs");
    assert_eq!(found.numfound, 3, "three node CIs in cmdb: {found:?}");
    let pools = cmdb
        .search(json!({"_type": "dcp_pool", "count": 10}))
        .await
        .expect("search the pool CI");
    assert_eq!(pools.numfound, 1, "one pool CI: {pools:?}");
    let pool_ci = pools.result[0]["_id"].as_i64().expect("the pool CI's _id");
    let children = cmdb
        .second_cis(pool_ci)
        .await
        .expect("the pool CI's children");
    assert_eq!(children.numfound, 3, "pool → node relations: {children:?}");
    let services = cmdb
        .search(json!({"_type": "dcp_service", "count": 10}))
        .await
        .expect("search the service CI");
    assert_eq!(services.numfound, 1, "one service CI: {services:?}");
    let service_children = cmdb
        .second_cis(
            services.result[0]["_id"]
                .as_i64()
                .expect("the service CI's _id"),
        )
        .await
        .expect("the service CI's children");
    assert_eq!(service_children.numfound, 1, "service → pool relation");
    // The built-in steps acted as the task-engine's own identity: every change in cmdb's
    // history is `task-engine`'s, and its cloud-portal account owns the three instances.
    let all_history = cmdb.history(json!({})).await.expect("cmdb's history");
    let engine_history = cmdb
        .history(json!({"username": "task-engine"}))
        .await
        .expect("the task-engine's history");
    assert!(
        engine_history.numfound > 0 && engine_history.numfound == all_history.numfound,
        "cmdb's history names the task-engine: {all_history:?}"
    );
    let owned = platform
        .cloud_portal_as_task_engine()
        .my_instances(100, 1)
        .await
        .expect("the task-engine's instances");
    assert_eq!(
        owned.len(),
        3,
        "the task-engine owns the instances: {owned:?}"
    );
    let used = hosts_in_use(&portal).await;
    assert_eq!(used, 3, "three hosts in use in cloud-portal");

    // ---- deploy a new tag over every node ----
    let deploy = post(
        &orch,
        &format!("/pool/deploy/{pool_id}"),
        json!({"max_num": 2, "tag": "registry.local/web:2.0"}),
    )
    .await;
    assert_ok(&deploy, "deploy");
    eventually(90, "every node deployed 2.0 and ok", &platform, || async {
        let all = nodes(&orch, pool_id).await;
        let files = ips
            .iter()
            .all(|ip| read(&work, &format!("{ip}.deployed")).trim() == "registry.local/web:2.0");
        let tagged = all
            .iter()
            .all(|n| text(n, "state") == "ok" && text(n, "tag") == "registry.local/web:2.0");
        (files && tagged && all.len() == 3).then_some(())
    })
    .await;

    // ---- a failing remote step: one node breaks, the others go on; fixed, then resumed ----
    let broken = ips.iter().next().cloned().expect("a node");
    std::fs::write(work.join(format!("{broken}.broken")), "fault").expect("break a node");
    let deploy = post(
        &orch,
        &format!("/pool/deploy/{pool_id}"),
        json!({"max_num": 3, "tag": "registry.local/web:3.0"}),
    )
    .await;
    assert_ok(&deploy, "the second deploy");
    let after = eventually_seen(90, "one node failed at e2e_deploy", &platform, || async {
        let all = nodes(&orch, pool_id).await;
        seen_unless(
            in_state(&all, "failed").len() == 1 && in_state(&all, "ok").len() == 2,
            all,
        )
    })
    .await;
    let failed = in_state(&after, "failed")[0].clone();
    assert_eq!(
        text(&failed, "ip"),
        broken,
        "the broken node failed: {after:?}"
    );
    assert_eq!(
        text(&failed, "step"),
        "e2e_deploy",
        "it failed at the deploy step"
    );
    for ip in ips.iter().filter(|ip| **ip != broken) {
        assert_eq!(
            read(&work, &format!("{ip}.deployed")).trim(),
            "registry.local/web:3.0"
        );
    }
    assert_eq!(
        read(&work, &format!("{broken}.deployed")).trim(),
        "registry.local/web:2.0"
    );
    std::fs::remove_file(work.join(format!("{broken}.broken"))).expect("fix the node");
    let task_id = failed["task_id"]
        .as_i64()
        .expect("a failed node names its task");
    platform
        .tasks_as(&olga)
        .start_task(task_id)
        .await
        .expect("olga resumes her task through the front door");
    eventually(
        90,
        "the fixed node deployed 3.0 and is ok",
        &platform,
        || async {
            let all = nodes(&orch, pool_id).await;
            let done =
                read(&work, &format!("{broken}.deployed")).trim() == "registry.local/web:3.0";
            (done && in_state(&all, "ok").len() == 3).then_some(())
        },
    )
    .await;

    // ---- shrink by 2 ----
    let leaving: Vec<String> = ips.iter().take(2).cloned().collect();
    let shrink = post(
        &orch,
        &format!("/pool/shrink/{pool_id}"),
        json!({"nodes": leaving}),
    )
    .await;
    assert_ok(&shrink, "shrink");
    let left = eventually_seen(120, "two nodes gone after shrink", &platform, || async {
        let all = nodes(&orch, pool_id).await;
        seen_unless(all.len() == 1, all)
    })
    .await;
    let staying = ips.iter().nth(2).cloned().expect("the third node");
    assert_eq!(text(&left[0], "ip"), staying, "the node not shrunk stays");
    assert_eq!(
        zookeeper_members(&platform).await.len(),
        1,
        "one server left in ZooKeeper"
    );
    let used = hosts_in_use(&portal).await;
    assert_eq!(used, 1, "two instances given back to cloud-portal");
    for ip in &leaving {
        assert!(
            read(&work, &format!("{ip}.prepared")).is_empty(),
            "the clean-up step ran on {ip}"
        );
    }
    let found = cmdb
        .search(json!({"_type": "dcp_node", "q": "pool:web-pool", "count": 10}))
        .await
        .expect("search the node CIs");
    assert_eq!(found.numfound, 1, "the shrunk nodes left cmdb: {found:?}");

    // ---- every write of the flow is olga's: the orchestrator's trail, and the task-engine's
    // (relayed by the orchestrator); each task records her as the person who pressed ----
    let orchestrator_trail = platform.trail_of(&platform.orchestrator, "olga").await;
    for flow in ["expand", "deploy", "shrink"] {
        let action = format!("POST /pool/{flow}/{{id}}");
        assert!(
            orchestrator_trail.iter().any(|(a, _)| *a == action),
            "{action} in the orchestrator's trail: {orchestrator_trail:?}"
        );
    }
    let engine_trail = platform.trail_of(&platform.task_engine, "olga").await;
    let created: Vec<_> = engine_trail
        .iter()
        .filter(|(a, _)| a == "POST /task/create")
        .collect();
    assert_eq!(
        created.len(),
        4,
        "expand, 2 deploys, shrink: {engine_trail:?}"
    );
    assert!(
        created.iter().all(|(_, via)| via == "orchestrator"),
        "{engine_trail:?}"
    );
    let tasks = platform.tasks().tasks(1, 50).await.expect("the tasks");
    assert!(
        tasks.data.iter().all(|t| t.opr_user == "olga"),
        "every task is olga's: {:?}",
        tasks.data.iter().map(|t| &t.opr_user).collect::<Vec<_>>()
    );
}

/// A pool of another cluster (made by the admin), for olga to be refused on.
async fn other_cluster_pool(admin: &client::OrchestratorClient, image_id: i64) -> i64 {
    let cluster = post(
        admin,
        "/cluster/create",
        json!({"name": "other", "desc": "", "biz": ""}),
    )
    .await;
    assert_ok(&cluster, "the other cluster");
    let cluster_id = dcp_e2e::new_id(&cluster, "cluster id");
    let service = post(
        admin,
        "/service/create",
        json!({"name": "other-web", "docker_image": "registry.local/other:1", "cluster_id": cluster_id}),
    )
    .await;
    assert_ok(&service, "the other service");
    let service_id = dcp_e2e::new_id(&service, "service id");
    let pool = post(
        admin,
        "/pool/create",
        json!({"name": "other-pool", "vm_type": image_id, "sd_id": 0, "service_id": service_id}),
    )
    .await;
    assert_ok(&pool, "the other pool");
    dcp_e2e::new_id(&pool, "pool id")
}

/// The orchestrator and the task-engine both crash (SIGKILL) in the middle of an expand and
/// come back on their addresses: the task goes on where each node was, and the orchestrator's
/// node table ends true although every event sent meanwhile was lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_expand_survives_crashes_of_the_orchestrator_and_the_task_engine() {
    let Stage {
        mut platform,
        work,
        dir,
        portal,
        image,
    } = Stage::start("e2e-slow-image").await;
    // A slow remote step, so that the crash comes while nodes are in it.
    action(
        &platform,
        "e2e_slow_prepare",
        "sleep 3 && echo {{tag}} > {{dir}}/{{ip}}.prepared",
    )
    .await;
    let expand_tpl = template(
        &platform,
        "e2e-slow-expand",
        vec![
            step("create_vm", json!({})),
            step("e2e_slow_prepare", json!({ "dir": dir })),
            step("register", json!({})),
        ],
    )
    .await;
    let orch = platform.orchestrator();
    let pool_id = web_pool(&orch, image.id, SOA_SERVICE, SOA_PORT, [expand_tpl, 0, 0]).await;
    let expand = post(&orch, &format!("/pool/expand/{pool_id}"), json!({"num": 2})).await;
    assert_ok(&expand, "expand");

    // Both crash once the nodes have their instances (they are in the slow step).
    eventually(60, "two nodes with IPs", &platform, || async {
        let all = nodes(&orch, pool_id).await;
        (all.len() == 2 && all.iter().all(|n| !text(n, "ip").is_empty())).then_some(())
    })
    .await;
    tokio::task::block_in_place(|| {
        platform.task_engine.crash_and_restart();
        platform.orchestrator.crash_and_restart();
    });

    let orch = platform.orchestrator();
    let done = eventually(
        120,
        "both nodes ok after the crashes",
        &platform,
        || async {
            let all = nodes(&orch, pool_id).await;
            (all.len() == 2 && in_state(&all, "ok").len() == 2).then_some(all)
        },
    )
    .await;
    for node in &done {
        let ip = text(node, "ip");
        assert_eq!(
            read(&work, &format!("{ip}.prepared")).trim(),
            "registry.local/web:1.0",
            "the prepare step's effect is on {ip}"
        );
    }
    // The restarted engine took the task over from the crashed one.
    let task_id = done[0]["task_id"]
        .as_i64()
        .expect("the nodes name their task");
    let log = platform
        .tasks()
        .task_log(task_id)
        .await
        .expect("the task's log through the front door");
    assert!(
        log.iter()
            .any(|row| row.message.contains("task taken over by engine")),
        "the log tells of the takeover: {:?}",
        log.iter().map(|r| r.message.as_str()).collect::<Vec<_>>()
    );
    let used = hosts_in_use(&portal).await;
    assert_eq!(used, 2, "no second instance was created for a node");
    assert_eq!(
        zookeeper_members(&platform).await.len(),
        2,
        "both registered"
    );
}

/// The orchestrator's nodes when `done`, else what they were (for the timeout's message).
fn seen_unless(
    done: bool,
    nodes: Vec<serde_json::Value>,
) -> Result<Vec<serde_json::Value>, String> {
    if done {
        Ok(nodes)
    } else {
        Err(format!(
            "the orchestrator's nodes: {}",
            serde_json::Value::Array(nodes)
        ))
    }
}
