//! Latchkey: a self-hosted API key manager — a team-settings dashboard and the REST API
//! that its keys unlock.

pub mod api;
pub mod assets;
pub mod auth;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod connections;
pub mod db;
pub mod deadline;
pub mod demo;
pub mod domain;
pub mod edge;
pub mod error;
pub mod files;
pub mod instrument;
pub mod jobs;
pub mod keycheck;
pub mod links;
pub mod mail;
pub mod metrics;
pub mod models;
pub mod net;
pub mod operator;
pub mod ops;
pub mod outbound;
pub mod probes;
pub mod security_headers;
pub mod startup;
pub mod state;
pub mod timefmt;
pub mod vault;
pub mod web;
