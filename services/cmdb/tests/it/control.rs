//! Control characters (NUL, ESC, the rest of C0 and C1) never get into cmdb: names, keys and
//! usernames are one printable line; a CI value may also hold tabs and line breaks. A refusal
//! is a 400 naming the field and the character, and leaves nothing behind.

use kit::testing::TestBackend;
use serde_json::json;

use crate::support::{attr_id, refused, TestApp};

kit::on_both_backends!(
    names_with_control_characters_are_refused_naming_the_field,
    ci_values_with_control_characters_are_refused_but_keep_lines_and_tabs,
);

/// NUL, ESC (the start of a terminal escape), BEL, DEL, and C1's NEL and CSI.
const CONTROLS: [char; 6] = ['\0', '\u{1b}', '\u{7}', '\u{7f}', '\u{85}', '\u{9b}'];

fn names_the_field(status: u16, message: &str, field: &str, c: char) {
    assert_eq!(status, 400, "{message}");
    let code = format!("U+{:04X}", u32::from(c));
    assert!(
        message.contains(&format!("`{field}`")) && message.contains(&code),
        "names `{field}` and {code}: {message}"
    );
}

async fn names_with_control_characters_are_refused_naming_the_field(backend: TestBackend) {
    let app = TestApp::spawn(backend).await;
    let a = &app.admin;
    app.add_sn().await;
    let type_id = a
        .add_citype(json!({"type_name": "rack", "unique": "sn"}))
        .await
        .expect("rack")
        .type_id;
    let sn = attr_id(a, "sn").await;
    for c in CONTROLS {
        let bad = format!("x{c}y");
        let (status, message) = refused(a.create_user(&bad, false).await);
        names_the_field(status, &message, "username", c);
        let (status, message) = refused(a.add_attribute(json!({"attr_name": bad})).await);
        names_the_field(status, &message, "attr_name", c);
        let (status, message) = refused(
            a.add_attribute(json!({"attr_name": "ok", "attr_alias": bad}))
                .await,
        );
        names_the_field(status, &message, "attr_alias", c);
        let (status, message) = refused(a.update_attribute(sn, json!({"attr_alias": bad})).await);
        names_the_field(status, &message, "attr_alias", c);
        let (status, message) = refused(
            a.add_attribute(json!({"attr_name": "colour", "choice_value": ["red", bad]}))
                .await,
        );
        names_the_field(status, &message, "choice_value", c);
        let (status, message) = refused(
            a.add_citype(json!({"type_name": bad, "unique": "sn"}))
                .await,
        );
        names_the_field(status, &message, "type_name", c);
        let (status, message) = refused(
            a.add_citype(json!({"type_name": "t", "type_alias": bad, "unique": "sn"}))
                .await,
        );
        names_the_field(status, &message, "type_alias", c);
        let (status, message) = refused(a.update_citype(type_id, json!({"icon_url": bad})).await);
        names_the_field(status, &message, "icon_url", c);
    }
    // A name is one line: a line break or a tab is a control character there too, even at
    // the ends where it would otherwise have been trimmed away.
    for bad in ["a\nb", "\tname", "name\r\n"] {
        let (status, message) = refused(a.add_attribute(json!({"attr_name": bad})).await);
        assert_eq!(status, 400, "{bad:?}: {message}");
        assert!(message.contains("`attr_name`"), "{message}");
        let (status, _) = refused(a.create_user(bad, false).await);
        assert_eq!(status, 400, "{bad:?}");
    }
    // Nothing was created; printable names, any script, still are.
    assert_eq!(a.attributes(None).await.expect("list").numfound, 1);
    assert_eq!(a.citypes(None).await.expect("list").numfound, 1);
    a.create_user("ops-中文-ü", false)
        .await
        .expect("a printable name");
    a.add_attribute(json!({"attr_name": "机房", "choice_value": ["A\tB", "C"]}))
        .await
        .expect("a printable attribute whose choices hold a tab");
}

async fn ci_values_with_control_characters_are_refused_but_keep_lines_and_tabs(
    backend: TestBackend,
) {
    let app = TestApp::spawn(backend).await;
    app.server_model().await;
    let a = &app.admin;
    for c in CONTROLS {
        let bad = format!("web{c}01");
        let (status, message) = refused(
            a.add_ci(json!({"ci_type": "server", "hostname": bad}))
                .await,
        );
        names_the_field(status, &message, "hostname", c);
        // By alias, in a multi-valued list, and in an update: the field as the caller named it.
        let (status, message) = refused(
            a.add_ci(json!({"ci_type": "server", "主机名": "ok", "IP": bad}))
                .await,
        );
        names_the_field(status, &message, "IP", c);
        let (status, message) = refused(
            a.add_ci(json!({"ci_type": "server", "hostname": "ok", "nic": ["eth0", bad]}))
                .await,
        );
        names_the_field(status, &message, "nic", c);
    }
    let id = app.add_server(json!({"hostname": "web-01"})).await;
    let (status, message) = refused(
        a.update_ci(json!({"ci_type": "server", "hostname": "web-01", "status": "up\u{1b}[2J"}))
            .await,
    );
    names_the_field(status, &message, "status", '\u{1b}');
    // A batch refuses the row alone, with the same 400 and message.
    let done = a
        .batch_cis(json!({"ci_type": "server", "cis": [
            {"hostname": "web-02"},
            {"hostname": "web\u{0}03"},
        ]}))
        .await
        .expect("batch");
    assert_eq!(
        (done.added, done.failed, done.results[1].status),
        (1, 1, 400)
    );
    let row = done.results[1].message.clone().unwrap_or_default();
    assert!(
        row.contains("`hostname`") && row.contains("U+0000"),
        "{row}"
    );
    // Nothing refused was stored: web-01 has no status, no CI holds a control character.
    assert_eq!(a.ci(id).await.expect("web-01").ci["status"], json!(null));
    let all = a.search(json!({"q": ""})).await.expect("search");
    assert_eq!(all.numfound, 2, "web-01 and web-02: {:?}", all.result);
    // Free text keeps its lines and tabs.
    let text = "line one\n\tline two\r\nend";
    a.update_ci(json!({"ci_type": "server", "hostname": "web-01", "status": text}))
        .await
        .expect("a multi-line value");
    assert_eq!(a.ci(id).await.expect("web-01").ci["status"], json!(text));
}
