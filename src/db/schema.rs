//! The one portable schema. Kept by hand: both migration sets must produce exactly this.
// `table!` generates a module and structs per table and column; the columns are documented by
// the migrations.
#![allow(missing_docs)]

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
        rate_limit_per_minute -> Integer,
        agency_id -> Nullable<Text>,
        suspended_at -> Nullable<BigInt>,
        audit_retention_days -> Integer,
        require_two_factor -> Bool,
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
        rate_limit_per_minute -> Nullable<Integer>,
        ip_allowlist -> Nullable<Text>,
        reported_leaked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Text,
        team_id -> Nullable<Text>,
        agency_id -> Nullable<Text>,
        action -> Text,
        actor_kind -> Text,
        actor_user_id -> Nullable<Text>,
        actor_key_id -> Nullable<Text>,
        actor_agency_id -> Nullable<Text>,
        actor_label -> Text,
        target_kind -> Nullable<Text>,
        target_id -> Nullable<Text>,
        target_label -> Nullable<Text>,
        detail -> Nullable<Text>,
        ip -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    outbox_events (id) {
        id -> Text,
        team_id -> Nullable<Text>,
        agency_id -> Nullable<Text>,
        event_type -> Text,
        payload -> Text,
        audit_event_id -> Text,
        created_at -> BigInt,
        fanned_out_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        team_id -> Nullable<Text>,
        agency_id -> Nullable<Text>,
        url -> Text,
        description -> Text,
        event_types -> Text,
        enabled -> Bool,
        disabled_reason -> Nullable<Text>,
        secret -> Text,
        secret_version -> BigInt,
        previous_secret -> Nullable<Text>,
        previous_secret_version -> Nullable<BigInt>,
        previous_until -> Nullable<BigInt>,
        created_by -> Nullable<Text>,
        since_event -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        failing_since -> Nullable<BigInt>,
    }
}

diesel::table! {
    api_key_notices (api_key_id, kind) {
        api_key_id -> Text,
        kind -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        endpoint_id -> Text,
        outbox_event_id -> Text,
        event_type -> Text,
        status -> Text,
        attempts -> BigInt,
        next_attempt_at -> Nullable<BigInt>,
        locked_until -> Nullable<BigInt>,
        last_attempt_at -> Nullable<BigInt>,
        last_status_code -> Nullable<Integer>,
        last_latency_ms -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Text,
        delivery_id -> Text,
        attempt -> BigInt,
        at -> BigInt,
        status_code -> Nullable<Integer>,
        latency_ms -> BigInt,
        error -> Nullable<Text>,
        excerpt -> Nullable<Text>,
    }
}

diesel::table! {
    security_events (id) {
        id -> Text,
        user_id -> Text,
        action -> Text,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
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
        handle -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        signed_in_at -> Nullable<BigInt>,
        last_seen_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    password_resets (token_digest) {
        token_digest -> Text,
        user_id -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    email_changes (token_digest) {
        token_digest -> Text,
        user_id -> Text,
        new_email -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        used_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    oauth_connections (integration_id) {
        integration_id -> Text,
        grant_type -> Text,
        token_url -> Text,
        authorize_url -> Nullable<Text>,
        revoke_url -> Nullable<Text>,
        client_id -> Text,
        scopes -> Text,
        audience -> Nullable<Text>,
        status -> Text,
        status_reason -> Nullable<Text>,
        account -> Nullable<Text>,
        granted_scopes -> Nullable<Text>,
        access_expires_at -> Nullable<BigInt>,
        connected_at -> Nullable<BigInt>,
        refreshed_at -> Nullable<BigInt>,
        refreshes -> BigInt,
        client_auth -> Text,
    }
}

diesel::table! {
    passkeys (id) {
        id -> Text,
        user_id -> Text,
        name -> Text,
        credential_id -> Text,
        credential -> Text,
        rp_id -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
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

diesel::table! {
    login_known_addresses (digest) {
        digest -> Text,
        last_success_at -> BigInt,
    }
}

diesel::table! {
    bots (id) {
        id -> Text,
        team_id -> Text,
        mode -> Text,
        name -> Text,
        description -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    channels (id) {
        id -> Text,
        team_id -> Text,
        mode -> Text,
        bot_id -> Text,
        kind -> Text,
        name -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    integrations (id) {
        id -> Text,
        team_id -> Text,
        mode -> Text,
        provider -> Text,
        name -> Text,
        base_url -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        auth_type -> Text,
        auth_name -> Nullable<Text>,
        auth_prefix -> Text,
        check_path -> Text,
        credential -> Nullable<Text>,
        credential_version -> BigInt,
        credential_fingerprint -> Nullable<Text>,
        credential_updated_at -> Nullable<BigInt>,
        credential_updated_by -> Nullable<Text>,
        created_by -> Nullable<Text>,
        last_used_at -> Nullable<BigInt>,
        test_at -> Nullable<BigInt>,
        test_ok -> Nullable<Bool>,
        test_status -> Nullable<Integer>,
        test_latency_ms -> Nullable<BigInt>,
        test_summary -> Nullable<Text>,
    }
}

diesel::table! {
    integration_usage (integration_id, hour) {
        integration_id -> Text,
        hour -> BigInt,
        requests -> BigInt,
    }
}

diesel::table! {
    conversations (id) {
        id -> Text,
        team_id -> Text,
        mode -> Text,
        bot_id -> Nullable<Text>,
        title -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        conversation_id -> Text,
        position -> Integer,
        role -> Text,
        content -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    agent_loops (id) {
        id -> Text,
        team_id -> Text,
        mode -> Text,
        bot_id -> Nullable<Text>,
        name -> Text,
        instructions -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    agent_loop_runs (id) {
        id -> Text,
        agent_loop_id -> Text,
        status -> Text,
        input -> Text,
        api_key_id -> Nullable<Text>,
        created_at -> BigInt,
        started_at -> Nullable<BigInt>,
        finished_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    api_key_usage (api_key_id, hour) {
        api_key_id -> Text,
        hour -> BigInt,
        requests -> BigInt,
        refused_scope -> BigInt,
        refused_address -> BigInt,
        refused_rate -> BigInt,
        refused_expired -> BigInt,
    }
}

diesel::table! {
    team_usage (team_id, hour) {
        team_id -> Text,
        hour -> BigInt,
        requests -> BigInt,
        refused -> BigInt,
    }
}

diesel::table! {
    api_key_addresses (api_key_id, ip) {
        api_key_id -> Text,
        ip -> Text,
        first_seen -> BigInt,
        last_seen -> BigInt,
        requests -> BigInt,
    }
}

diesel::table! {
    agencies (id) {
        id -> Text,
        slug -> Text,
        name -> Text,
        product_name -> Nullable<Text>,
        primary_color -> Nullable<Text>,
        support_email -> Nullable<Text>,
        powered_by -> Bool,
        logo -> Nullable<Binary>,
        logo_type -> Nullable<Text>,
        brand_version -> BigInt,
        created_at -> BigInt,
        require_two_factor -> Bool,
    }
}

diesel::table! {
    agency_hosts (host) {
        host -> Text,
        agency_id -> Text,
    }
}

diesel::table! {
    agency_members (agency_id, user_id) {
        agency_id -> Text,
        user_id -> Text,
        role -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    invitations (id) {
        id -> Text,
        token_digest -> Text,
        team_id -> Nullable<Text>,
        agency_id -> Nullable<Text>,
        email -> Text,
        role -> Text,
        invited_by -> Nullable<Text>,
        created_at -> BigInt,
        expires_at -> BigInt,
        accepted_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    vault_checks (key_id) {
        key_id -> Text,
        sealed -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    cluster_nodes (node_id) {
        node_id -> Text,
        lease_until_ms -> BigInt,
        acked_seq -> BigInt,
        started_at -> BigInt,
        address -> Text,
    }
}

diesel::table! {
    cache_epoch (id) {
        id -> Integer,
        seq -> BigInt,
    }
}

diesel::joinable!(memberships -> teams (team_id));
diesel::joinable!(agency_hosts -> agencies (agency_id));
diesel::joinable!(agency_members -> agencies (agency_id));
diesel::joinable!(agency_members -> users (user_id));
diesel::joinable!(teams -> agencies (agency_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(api_keys -> teams (team_id));
diesel::joinable!(integration_usage -> integrations (integration_id));
diesel::joinable!(oauth_connections -> integrations (integration_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(api_key_notices -> api_keys (api_key_id));
diesel::joinable!(webhook_deliveries -> outbox_events (outbox_event_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(api_keys -> users (created_by));
diesel::joinable!(api_key_addresses -> api_keys (api_key_id));

diesel::table! {
    mail_queue (id) {
        id -> Text,
        team_id -> Nullable<Text>,
        kind -> Text,
        recipient -> Text,
        sender_name -> Text,
        reply_to -> Nullable<Text>,
        subject -> Text,
        text_body -> Text,
        html_body -> Text,
        created_at -> BigInt,
        attempts -> Integer,
        next_attempt_at -> Nullable<BigInt>,
        sent_at -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    user_totp (user_id) {
        user_id -> Text,
        secret -> Text,
        created_at -> BigInt,
        confirmed_at -> Nullable<BigInt>,
        last_step -> BigInt,
    }
}

diesel::table! {
    recovery_codes (user_id, code_digest) {
        user_id -> Text,
        code_digest -> Text,
        used_at -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    users,
    teams,
    memberships,
    api_keys,
    audit_events,
    outbox_events,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts,
    api_key_notices,
    security_events,
    sessions,
    setup_tokens,
    login_throttles,
    login_known_addresses,
    bots,
    channels,
    integrations,
    integration_usage,
    conversations,
    messages,
    agent_loops,
    agent_loop_runs,
    api_key_usage,
    api_key_addresses,
    team_usage,
    agencies,
    agency_hosts,
    agency_members,
    invitations,
    vault_checks,
    cluster_nodes,
    cache_epoch,
    mail_queue,
    password_resets,
    email_changes,
    oauth_connections,
    passkeys,
    user_totp,
    recovery_codes,
);
