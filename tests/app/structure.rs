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
