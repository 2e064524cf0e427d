//! Attributes, CI types, and binding attributes to types.

use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{assert_refused, attr_id, refused, TestApp};

kit::on_both_backends!(
    attributes_are_created_listed_found_updated_and_deleted,
    attribute_input_is_checked,
    citypes_are_created_queried_enabled_and_deleted,
    citype_input_follows_the_seed,
    attributes_bind_to_and_unbind_from_types,
);

async fn attributes_are_created_listed_found_updated_and_deleted(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let a = &app.admin;
    let id = a
        .add_attribute(
            json!({"attr_name": "idc", "attr_alias": "IDC", "choice_value": ["南汇", "欧阳路"]}),
        )
        .await
        .expect("added")
        .attr_id;
    let plain = a
        .add_attribute(json!({"attr_name": "os"}))
        .await
        .expect("added")
        .attr_id;

    let one = a.attribute("idc").await.expect("by name").attribute;
    assert_eq!(one.attr_id, id);
    assert!(one.is_choice);
    assert_eq!(one.choice_value, vec![json!("南汇"), json!("欧阳路")]);
    assert_eq!(one.value_type, "text");
    assert!(!one.is_multivalue && !one.is_uniq);
    assert_eq!(attr_id(a, "IDC").await, id);
    assert_eq!(
        a.attribute(&id.to_string())
            .await
            .expect("by id")
            .attribute
            .attr_name,
        "idc"
    );
    // The alias defaults to the name.
    assert_eq!(
        a.attribute("os").await.expect("os").attribute.attr_alias,
        "os"
    );

    let all = a.attributes(None).await.expect("list");
    assert_eq!(all.numfound, 2);
    let filtered = a.attributes(Some("ID")).await.expect("filtered");
    assert_eq!(filtered.numfound, 1);
    assert_eq!(filtered.attributes[0].attr_id, id);

    a.update_attribute(plain, json!({"attr_alias": "系统", "value_type": "int"}))
        .await
        .expect("updated");
    let os = a.attribute("系统").await.expect("new alias").attribute;
    assert_eq!(
        (os.attr_name.as_str(), os.value_type.as_str()),
        ("os", "int")
    );

    let deleted = a.delete_attribute(plain).await.expect("deleted");
    assert_eq!(deleted.message, "attribute os deleted");
    assert_refused(a.attribute("os").await, 404, &["os"]);
    assert_eq!(refused(a.delete_attribute(plain).await).0, 404);
}

async fn attribute_input_is_checked(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let a = &app.admin;
    a.add_attribute(json!({"attr_name": "sn"}))
        .await
        .expect("added");
    for (params, needles) in [
        // "Attribute exists" is the caller's conflict: 400, as veops CMDB answers it.
        (json!({"attr_name": "sn"}), &["sn", "already exists"][..]),
        (
            json!({"attr_name": "x", "value_type": "blob"}),
            &["value_type"],
        ),
        (json!({"attr_alias": "x"}), &["attr_name"]),
        (json!({"attr_name": "a:b"}), &["attr_name"]),
        (
            json!({"attr_name": "cores", "value_type": "int", "choice_value": "1,x"}),
            &["choice_value"],
        ),
        (json!({"attr_name": "y", "colour": 1}), &["colour"]),
    ] {
        assert_refused(a.add_attribute(params).await, 400, needles);
    }
}

async fn citypes_are_created_queried_enabled_and_deleted(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let a = &app.admin;
    let sn = app.add_sn().await;
    a.add_attribute(json!({"attr_name": "uuid", "is_uniq": 1}))
        .await
        .expect("uuid");
    let physical = a
        .add_citype(json!({"type_name": "物理机", "_id": sn, "icon_url": "/i.png"}))
        .await
        .expect("by _id")
        .type_id;
    let kvm = a
        .add_citype(json!({"type_name": "KVM", "type_alias": "虚拟机", "unique": "uuid"}))
        .await
        .expect("by unique")
        .type_id;

    let list = a.citypes(None).await.expect("list");
    assert_eq!(list.numfound, 2);
    let first = &list.citypes[0];
    assert_eq!(first.type_id, physical);
    // The list shows the unique key by name, as the seed's example does.
    assert_eq!(first.uniq_key, json!("sn"));
    assert!(first.enabled);
    assert_eq!(first.icon_url, "/i.png");
    assert_eq!(a.citypes(Some("KVM")).await.expect("filtered").numfound, 1);

    for key in ["KVM", "虚拟机", &kvm.to_string()] {
        let t = a.query_citype(key).await.expect("query").citype;
        assert_eq!(t.type_id, kvm, "{key}");
        assert_eq!(t.unique, "uuid");
    }
    assert_refused(a.query_citype("nope").await, 404, &["nope"]);

    a.enable_citype(kvm, false).await.expect("disabled");
    assert!(!a.query_citype("KVM").await.expect("query").citype.enabled);
    a.enable_citype(kvm, true).await.expect("enabled");
    assert!(a.query_citype("KVM").await.expect("query").citype.enabled);

    a.update_citype(kvm, json!({"type_name": "kvm-vm"}))
        .await
        .expect("renamed");
    assert_eq!(
        a.query_citype(&kvm.to_string())
            .await
            .expect("q")
            .citype
            .type_name,
        "kvm-vm"
    );

    let message = a.delete_citype(kvm).await.expect("deleted").message;
    assert_eq!(message, "ci type kvm-vm deleted");
    assert_eq!(refused(a.delete_citype(kvm).await).0, 404);
    assert_eq!(refused(a.enable_citype(kvm, true).await).0, 404);
}

async fn citype_input_follows_the_seed(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let a = &app.admin;
    let sn = app.add_sn().await;
    a.add_attribute(json!({"attr_name": "name"}))
        .await
        .expect("name");
    for (params, needles) in [
        (json!({"unique": "sn"}), &["type_name"][..]),
        (json!({"type_name": "t"}), &["unique"]),
        (
            json!({"type_name": "t", "_id": sn, "unique": "sn"}),
            &["_id"],
        ),
        // The seed's 500s are the caller's mistakes: 400s naming the parameter.
        (
            json!({"type_name": "t", "unique": "ghost"}),
            &["ghost", "`unique`"],
        ),
        (
            json!({"type_name": "t", "_id": 999999}),
            &["999999", "`_id`"],
        ),
        (json!({"type_name": "t", "unique": "name"}), &["not unique"]),
        (
            json!({"type_name": "t", "unique": "sn", "type_alias": "x".repeat(129)}),
            &["type_alias"],
        ),
    ] {
        assert_refused(a.add_citype(params).await, 400, needles);
    }
    a.add_citype(json!({"type_name": "t", "unique": "sn"}))
        .await
        .expect("added");
    assert_refused(
        a.add_citype(json!({"type_name": "t", "unique": "sn"}))
            .await,
        400,
        &["already exists"],
    );
}

async fn attributes_bind_to_and_unbind_from_types(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let a = &app.admin;
    let type_id = app.server_model().await;
    let listed = a.type_attributes(type_id).await.expect("listed");
    assert_eq!(listed.type_id, type_id);
    let names: Vec<&str> = listed
        .attributes
        .iter()
        .map(|t| t.attribute.attr_name.as_str())
        .collect();
    assert_eq!(
        names,
        vec![
            "hostname",
            "private_ip",
            "idc",
            "cpu_core_num",
            "ram",
            "online",
            "nic",
            "status"
        ]
    );
    // The unique attribute is bound, and required.
    assert!(listed.attributes[0].is_required);
    assert!(!listed.attributes[1].is_required);

    let status_id = attr_id(a, "status").await;
    let hostname_id = attr_id(a, "hostname").await;
    assert_eq!(
        a.unbind_attributes(type_id, &[status_id])
            .await
            .expect("unbound")
            .attributes,
        vec![status_id]
    );
    assert_eq!(
        a.type_attributes(type_id)
            .await
            .expect("listed")
            .attributes
            .len(),
        7
    );
    assert_refused(
        a.unbind_attributes(type_id, &[hostname_id]).await,
        400,
        &["hostname"],
    );
    assert_eq!(
        refused(a.bind_attributes(type_id, &[9999], false).await).0,
        404
    );
    assert_eq!(
        refused(a.bind_attributes(9999, &[status_id], false).await).0,
        404
    );
    assert_eq!(refused(a.type_attributes(9999).await).0, 404);
    a.bind_attributes(type_id, &[status_id], true)
        .await
        .expect("bound again");
    let again = a.type_attributes(type_id).await.expect("listed");
    assert!(again
        .attributes
        .iter()
        .any(|t| t.attribute.attr_id == status_id && t.is_required));
}
