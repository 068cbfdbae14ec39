//! Project-level promises that are easy to break by accident.

use std::collections::BTreeSet;

fn dirs(path: &str) -> BTreeSet<String> {
    std::fs::read_dir(path)
        .expect("migrations directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn sqlite_and_postgres_migrations_have_identical_directory_names() {
    let root = env!("CARGO_MANIFEST_DIR");
    let sqlite = dirs(&format!("{root}/migrations/sqlite"));
    let postgres = dirs(&format!("{root}/migrations/postgres"));
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, postgres);
}

#[actix_web::test]
async fn production_passwords_use_argon2id_with_the_pinned_parameters() {
    let hasher =
        latchkey::auth::password::Passwords::new(latchkey::config::PasswordParams::PRODUCTION, 1)
            .expect("hasher");
    let pw = || {
        latchkey::domain::inputs::Password::parse_new("correct horse battery staple".into())
            .expect("pw")
    };
    let hash = hasher.hash(pw()).await.expect("hash");
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert!(
        hasher
            .verify(pw(), Some(hash.clone()))
            .await
            .expect("verify")
    );
    let wrong =
        latchkey::domain::inputs::Password::parse_new("another horse battery".into()).expect("pw");
    assert!(!hasher.verify(wrong, Some(hash)).await.expect("verify"));
}

#[test]
fn postgres_runs_in_ci() {
    // CI must exercise both backends; a missing TEST_DATABASE_URL there is a failure, not a skip.
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        assert!(
            std::env::var("TEST_DATABASE_URL").is_ok_and(|v| v.starts_with("postgres")),
            "CI=true but TEST_DATABASE_URL is not set to a PostgreSQL URL"
        );
    }
}

#[actix_web::test]
async fn the_leak_event_rename_migrates_stored_events_both_ways() {
    use diesel::prelude::*;
    use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
    use latchkey::db::DbConnection;
    use latchkey::db::schema::{audit_events, outbox_events};
    const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
    const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

    crate::helpers::each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let (_, key) = app.make_key(crate::helpers::KeySpec {
            team: &slug,
            scopes: &["bots:read"],
            mode: "live",
        });
        let res = app
            .send(
                actix_web::test::TestRequest::post()
                    .uri("/v1/revoke")
                    .insert_header(("content-type", "application/json"))
                    .set_payload(serde_json::json!({"key": key}).to_string()),
            )
            .await;
        res.assert_status(200);
        let stored = |c: &mut DbConnection| -> (Vec<String>, Vec<(String, String)>) {
            (
                audit_events::table
                    .filter(audit_events::action.like("api_key.%leaked"))
                    .select(audit_events::action)
                    .load(c)
                    .expect("audit"),
                outbox_events::table
                    .filter(outbox_events::event_type.like("api_key.%leaked"))
                    .select((outbox_events::event_type, outbox_events::payload))
                    .load(c)
                    .expect("outbox"),
            )
        };
        // Reverting returns the version undone: `None` when going up.
        let step = |c: &mut DbConnection, down: bool| -> Option<String> {
            let version = match c {
                DbConnection::Sqlite(c) if down => {
                    c.revert_last_migration(SQLITE).map(|v| Some(v.to_string()))
                }
                DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE).map(|_| None),
                DbConnection::Postgres(c) if down => c
                    .revert_last_migration(POSTGRES)
                    .map(|v| Some(v.to_string())),
                DbConnection::Postgres(c) => c.run_pending_migrations(POSTGRES).map(|_| None),
            };
            version.expect("migration step")
        };
        // Down through every later migration to the rename, then up again.
        let mut undone = 0;
        while !app
            .db(|c| step(c, true))
            .is_some_and(|v| v.contains("000008"))
        {
            undone += 1;
            assert!(
                undone < 20,
                "the rename migration is reverted at some point"
            );
        }
        let (audit, outbox) = app.db(stored);
        assert_eq!(audit, vec!["api_key.reported_leaked"]);
        assert_eq!(outbox[0].0, "api_key.reported_leaked");
        assert!(outbox[0].1.contains(r#""type":"api_key.reported_leaked""#));
        app.db(|c| step(c, false));
        let (audit, outbox) = app.db(stored);
        assert_eq!(audit, vec!["api_key.leaked"]);
        assert_eq!(outbox[0].0, "api_key.leaked");
        assert!(
            outbox[0].1.contains(r#""type":"api_key.leaked""#),
            "{}",
            outbox[0].1
        );
    })
    .await;
}
