//! The vault at start: the master keys must fit the database's secrets.

use latchkey::vault::{Keyring, MasterKey, startup};

use crate::helpers::each_db;

#[actix_web::test]
async fn a_start_with_another_master_key_is_refused_with_a_message_and_a_rotation_is_accepted() {
    each_db(|app| async move {
        let checks = app.db(latchkey::models::vault_check::all).expect("checks");
        assert_eq!(checks.len(), 1, "the app's own key left its check");
        // The app started with its key: a start with another key alone is refused.
        let stranger = Keyring::new(vec![MasterKey::from_bytes([1u8; 32])]).expect("ring");
        let refused = startup::check(&app.state.pool, &stranger, 0).await;
        let message = refused.expect_err("refused");
        assert!(
            message.contains("is not the one this database's secrets were sealed with"),
            "{message}"
        );
        assert!(
            message.contains("LATCHKEY_MASTER_KEY"),
            "it says what to set: {message}"
        );
        // The new key in front of the app's key: accepted, and remembered from then on.
        let rotated = Keyring::new(vec![
            MasterKey::from_bytes([1u8; 32]),
            MasterKey::from_bytes([9u8; 32]),
        ])
        .expect("ring");
        startup::check(&app.state.pool, &rotated, 0)
            .await
            .expect("rotation accepted");
        startup::check(&app.state.pool, &stranger, 0)
            .await
            .expect("the new key alone, now that it has its check");
    })
    .await;
}
