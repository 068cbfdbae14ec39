//! The one integration test binary. Every test drives the real `build_app`.
// Helpers, not only `#[test]` functions, may expect: a failure there is the test failing.
#![allow(clippy::expect_used)]

mod helpers;
mod isolation;
mod receiver;

mod account_guards;
mod accounts;
mod agencies;
mod api_auth;
mod api_bots;
mod api_docs;
mod api_keys;
mod api_keys_validation;
mod api_matrix;
mod api_resources;
mod audit_events;
mod audit_log;
mod cluster;
mod cluster_process;
mod dashboard_api_settings;
mod demo;
mod faults_process;
mod faults_sqlite;
mod hardening;
mod integrations;
mod integrations_pages;
mod key_list;
mod key_page;
mod mail;
mod members;
mod oauth;
mod operations;
mod outbound;
mod passkeys;
mod process;
mod retention;
mod roles_and_tenancy;
mod security;
mod sign_in;
mod structure;
mod two_factor;
mod vault;
mod vault_process;
mod webhooks;
mod webhooks_pages;
