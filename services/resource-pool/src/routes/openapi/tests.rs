use std::collections::BTreeSet;

use wire::resource_pool as w;

use super::*;

fn properties(schema: &Value) -> BTreeSet<String> {
    assert!(schema["properties"].is_object(), "properties");
    openapi::property_names(schema)
}

#[test]
fn every_function_has_the_methods_it_answers() {
    let spec = document();
    let table = super::super::table();
    assert_eq!(openapi::problems(spec, &table), Vec::<String>::new());
    for name in super::super::functions() {
        let path = &spec["paths"][format!("/api/{name}")];
        assert!(path.is_object(), "no path /api/{name}");
        let reads = name.starts_with("get_") || name == "audit_log" || name == "probe_instance";
        assert_eq!(
            path["get"].is_object(),
            reads,
            "/api/{name}: GET only for reads"
        );
        for method in ["get", "post"].into_iter().filter(|m| path[*m].is_object()) {
            let op = &path[method];
            assert!(op.is_object(), "/api/{name} lacks {method}");
            assert!(
                op["responses"]["200"].is_object(),
                "{name} {method}: no 200"
            );
            assert!(
                op["responses"]["400"].is_object(),
                "{name} {method}: no 400"
            );
            assert!(
                op["responses"]["503"].is_object(),
                "{name} {method}: no 503"
            );
        }
    }
    for path in ["/healthz", "/readyz", "/metrics", "/openapi.json"] {
        assert!(spec["paths"][path]["get"].is_object(), "no GET {path}");
    }
}

#[test]
fn every_ref_points_to_a_component_schema() {
    let (unresolved, all) = openapi::unresolved_references(document());
    assert!(all > 0, "the document has references");
    assert!(unresolved.is_empty(), "{unresolved:?} do not exist");
}

#[test]
fn get_and_post_take_the_same_parameters() {
    for name in super::super::functions() {
        let path = &document()["paths"][format!("/api/{name}")];
        if !path["get"].is_object() {
            continue;
        }
        let query: BTreeSet<String> = path["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        for media in ["application/x-www-form-urlencoded", "application/json"] {
            let body = &path["post"]["requestBody"]["content"][media]["schema"];
            assert_eq!(properties(body), query, "{name} {media}");
        }
    }
}

#[test]
fn operation_ids_are_unique() {
    let mut seen = BTreeSet::new();
    for item in document()["paths"].as_object().unwrap().values() {
        for op in item.as_object().unwrap().values() {
            let id = op["operationId"].as_str().unwrap();
            assert!(seen.insert(id.to_string()), "duplicate operationId {id}");
        }
    }
}

/// The field parameters of the writes are exactly the wire structs' (serde) names,
/// plus the aliases serde accepts.
#[test]
fn write_fields_match_the_wire_structs() {
    let some = || Some(String::new());
    let server = w::ServerFields {
        server_name: some(),
        server_online: some(),
        server_owner: some(),
        server_os: some(),
        server_stat: Some(1),
    };
    let instance = w::InstanceFields {
        instance_level: some(),
        instance_name: some(),
        instance_business: some(),
        instance_online: some(),
        instance_owner: some(),
        instance_dbtype: some(),
        instance_hatype: some(),
        instance_stat: Some(1),
    };
    let database = w::DatabaseFields {
        database_ip: some(),
        database_port: Some(1),
        database_name: some(),
        database_level: some(),
        database_owner: some(),
        database_business: some(),
        database_online: some(),
        database_stat: Some(1),
    };
    let names = |params: Vec<Param>| -> BTreeSet<String> {
        params.iter().map(|p| p.name.to_string()).collect()
    };
    let with_alias = |mut set: BTreeSet<String>, alias: &str| {
        set.insert(alias.to_string());
        set
    };
    for adding in [true, false] {
        assert_eq!(names(server_fields(adding)), openapi::field_names(&server));
        assert_eq!(
            names(instance_fields(adding)),
            with_alias(openapi::field_names(&instance), "instance_business")
        );
        assert_eq!(
            names(database_fields(adding)),
            with_alias(openapi::field_names(&database), "database_bussiness")
        );
    }
}

/// The component schemas have exactly the keys the wire types serialize.
#[test]
fn result_schemas_match_the_wire_types() {
    let text = String::new;
    let check = |name: &str, wire: BTreeSet<String>| {
        assert_eq!(
            properties(openapi::component_schema(document(), name)),
            wire,
            "{name}"
        );
    };
    check(
        "Server",
        openapi::field_names(&w::Server {
            id: 1,
            ip: text(),
            name: text(),
            os: text(),
            stat: 1,
            owner: None,
            owner_name: text(),
            online_date: text(),
        }),
    );
    check(
        "Instance",
        openapi::field_names(&w::Instance {
            id: 1,
            ip: text(),
            port: 1,
            server_id: 1,
            name: text(),
            level: text(),
            stat: 1,
            business_id: None,
            business: text(),
            owner_id: None,
            owner: text(),
            db_type: text(),
            ha_type: text(),
            online_date: text(),
        }),
    );
    check(
        "Database",
        openapi::field_names(&w::Database {
            id: 1,
            ip: text(),
            port: 1,
            name: text(),
            level: text(),
            instance_id: 1,
            business_id: None,
            business: text(),
            owner: None,
            owner_name: text(),
            online_date: text(),
            stat: 1,
        }),
    );
    check("Deleted", openapi::field_names(&w::Deleted::default()));
    let entry = w::AuditEntry {
        id: 1,
        at: text(),
        model: text(),
        action: text(),
        entity: text(),
        target: text(),
        old_value: None,
        new_value: None,
        request_id: text(),
        who: text(),
    };
    check("AuditEntry", openapi::field_names(&entry));
    check(
        "AuditPage",
        openapi::field_names(&w::AuditPage {
            total: 0,
            page: 1,
            page_size: 1,
            entries: vec![entry],
        }),
    );
    check(
        "ProbeReport",
        openapi::field_names(&w::ProbeReport {
            ip: text(),
            port: 1,
            reachable: false,
            version: None,
            uptime_seconds: None,
            error: None,
            elapsed_ms: 0,
        }),
    );
    check(
        "ErrorReply",
        openapi::field_names(&w::Reply::<()> {
            code: 1,
            msg: text(),
            result: None,
        }),
    );
}
