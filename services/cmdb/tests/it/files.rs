//! cmdb's SQLite database holds every user's api secret in clear: the file, its `-wal` and
//! `-shm`, and the folder cmdb creates for them are its owner's alone (0600 / 0700), and so
//! is everything else the binary writes (umask 077). SQLite only: on MySQL nothing is on the
//! service's disk.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use kit::config::DatabaseConfig;
use kit::testing::TestBackend;
use serde_json::json;

use crate::support::TestApp;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

#[actix_web::test]
async fn the_sqlite_database_and_its_folder_are_private() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let var = dir.path().join("var");
    let db = var.join("cmdb.db");
    let url = db.to_string_lossy().into_owned();
    let app = TestApp::spawn_with(TestBackend::Sqlite, |config| {
        config.database = DatabaseConfig::sqlite(&url);
    })
    .await;
    app.server_model().await;
    app.add_server(json!({"hostname": "web-01"})).await;
    let wal = beside(&db, "-wal");
    assert!(wal.exists(), "the write went through the WAL");
    assert_eq!(mode(&var), 0o700, "the folder cmdb made");
    assert_eq!(mode(&db), 0o600, "the database");
    assert_eq!(mode(&wal), 0o600, "its -wal");
    assert_eq!(mode(&beside(&db, "-shm")), 0o600, "its -shm");
}

/// The binary as `make run` starts it, from a shell whose umask (022 here) would make files
/// world-readable: the folder it makes for the generated admin credentials is 0700 only
/// because of the umask the binary sets (cmdb creates it with no mode of its own).
#[test]
fn the_binary_writes_nothing_others_can_read() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let db = dir.path().join("data").join("cmdb.db");
    let credentials = dir.path().join("secrets").join("admin.json");
    let auth = kit::testing::issuer::issuer().auth_config();
    let mut child = Command::new(env!("CARGO_BIN_EXE_cmdb"))
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("DCP_HTTP__BIND", "127.0.0.1:0")
        .env("DCP_DATABASE__URL", format!("sqlite://{}", db.display()))
        .env("DCP_API_KEYS__CREDENTIALS_FILE", &credentials)
        .env("DCP_AUTH__ISSUER", &auth.issuer)
        .env("DCP_AUTH__AUDIENCE", &auth.audience)
        .env("DCP_AUTH__JWKS_URL", &auth.jwks_url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cmdb starts");
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    let serving = line.contains("listening on");
    let modes = serving.then(|| {
        [
            mode(credentials.parent().unwrap_or(dir.path())),
            mode(&credentials),
            mode(db.parent().unwrap_or(dir.path())),
            mode(&db),
        ]
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(serving, "cmdb printed where it listens: {line:?}");
    assert_eq!(
        modes,
        Some([0o700, 0o600, 0o700, 0o600]),
        "credentials folder, credentials, database folder, database"
    );
}
