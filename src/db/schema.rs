//! The one portable schema. Kept by hand: both migration sets must produce exactly this.

diesel::table! {
    users (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        password_hash -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    teams (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    memberships (team_id, user_id) {
        team_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        team_id -> Text,
        name -> Text,
        mode -> Text,
        environment -> Nullable<Text>,
        secret_digest -> Text,
        prefix -> Text,
        head -> Text,
        tail -> Text,
        scopes -> Text,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> Nullable<BigInt>,
        last_used_at -> Nullable<BigInt>,
        last_used_ip -> Nullable<Text>,
        retiring_until -> Nullable<BigInt>,
        replaced_by -> Nullable<Text>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        team_id -> Text,
        actor_user_id -> Nullable<Text>,
        action -> Text,
        target_id -> Nullable<Text>,
        detail -> Nullable<Text>,
        ip -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> Nullable<Text>,
        state -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    setup_tokens (token_digest) {
        token_digest -> Text,
        expires_at -> BigInt,
    }
}

diesel::table! {
    login_throttles (email_digest) {
        email_digest -> Text,
        failures -> Integer,
        last_failure_at -> BigInt,
    }
}

diesel::joinable!(memberships -> teams (team_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(api_keys -> teams (team_id));
diesel::joinable!(api_keys -> users (created_by));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    teams,
    memberships,
    api_keys,
    audit_events,
    sessions,
    setup_tokens,
    login_throttles,
);
