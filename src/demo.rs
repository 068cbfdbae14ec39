//! `latchkey demo`: a realistic, deterministic data set for screenshots and trying Latchkey.
//! With the demo stream (`base62::use_demo_stream`) and a fixed clock, the same command always
//! produces the same rows, ids, secrets and relative times.

use diesel::prelude::*;

use crate::db::{DbConnection, write_tx};
use crate::domain::api_key_secret::{EnvLabel, KeyMode};
use crate::domain::audit::{Actor, AuditAction, Change, Owner, Target, Who};
use crate::domain::ids::{ApiKeyId, TeamId, UserId};
use crate::domain::role::{AgencyRole, Role};
use crate::domain::scope::{Scope, ScopeSet};
use crate::error::AppError;
use crate::models::agency::{Agency, BrandSettings, add_operator};
use crate::models::api_key::{ApiKey, KeySettings};
use crate::models::integration::{Integration, TestOutcome};
use crate::models::team::{Team, add_member};
use crate::models::usage as recorded_usage;
use crate::models::user::{NewUser, User};
use crate::ops;
use crate::vault::{Keyring, stores};

/// The password of every demo account (printed at start and in the README).
pub const DEMO_PASSWORD: &str = "latchkey-demo-password";

/// The demo agency's logo.
const LOGO: &[u8] = include_bytes!("../static/demo/northstar-logo.png");

/// Demo accounts: e-mail, name, what they are.
pub const ACCOUNTS: [(&str, &str, &str); 9] = [
    ("ada@acme.test", "Ada Lovelace", "owner of Acme Robotics"),
    ("ben@acme.test", "Ben Okafor", "admin of Acme Robotics"),
    (
        "cara@acme.test",
        "Cara Jensen",
        "developer of Acme Robotics",
    ),
    ("dan@acme.test", "Dan Moreau", "viewer of Acme Robotics"),
    (
        "nora@northstar.test",
        "Nora Quinn",
        "owner of the agency Northstar Digital",
    ),
    (
        "omar@northstar.test",
        "Omar Haddad",
        "operator of Northstar Digital",
    ),
    (
        "hana@harbor.test",
        "Hana Berg",
        "owner of the client Harbor Coffee",
    ),
    (
        "ivan@harbor.test",
        "Ivan Petrov",
        "developer of the client Harbor Coffee",
    ),
    (
        "lea@atlas.test",
        "Lea Fontaine",
        "viewer of the client Atlas Outfitters",
    ),
];

/// What the demo printed after seeding.
pub struct Seeded {
    /// A working live key of Acme Robotics with every scope (for trying the API).
    pub sample_key: String,
}

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

fn scopes(list: &[Scope]) -> ScopeSet {
    let mut set = ScopeSet::empty();
    for s in list {
        set.insert(*s);
    }
    set
}

struct KeySpec<'a> {
    name: &'a str,
    mode: KeyMode,
    env: Option<&'a str>,
    scopes: ScopeSet,
    created_ago: i64,
    expires_in: Option<i64>,
    last_used_ago: Option<i64>,
    ip: &'a str,
    rate: Option<i32>,
    allow: Option<&'a str>,
}

impl Default for KeySpec<'_> {
    fn default() -> Self {
        Self {
            name: "",
            mode: KeyMode::Live,
            env: None,
            scopes: ScopeSet::all(),
            created_ago: 30 * DAY,
            expires_in: None,
            last_used_ago: None,
            ip: "203.0.113.7",
            rate: None,
            allow: None,
        }
    }
}

/// Inserts one key as if created `created_ago` seconds before `now`, with its audit event.
fn key(
    c: &mut DbConnection,
    team: &TeamId,
    by: &UserId,
    spec: KeySpec<'_>,
    now: i64,
) -> Result<(ApiKey, String), AppError> {
    let created = now - spec.created_ago;
    let settings = KeySettings {
        name: spec.name.to_owned(),
        scopes: spec.scopes,
        mode: spec.mode,
        environment: spec.env.and_then(EnvLabel::parse),
        expires_at: spec.expires_in.map(|d| now + d),
        rate_limit_per_minute: spec.rate,
        ip_allowlist: spec.allow.map(str::to_owned),
    };
    let (key, secret) =
        ApiKey::insert(c, &ApiKeyId::generate(), team, &settings, Some(by), created)
            .map_err(|_| AppError::Internal("demo key insert failed".into()))?;
    if let Some(ago) = spec.last_used_ago {
        recorded_usage::set_last_use(c, &key.id, now - ago, Some(spec.ip))?;
    }
    let actor = demo_actor(c, by, created)?;
    let change = Change::new(
        AuditAction::ApiKeyCreated,
        Target::new("api_key", key.id.clone(), key.name.clone()),
    )
    .with("mode", key.mode.as_str())
    .with(
        "scopes",
        key.scope_set()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
    );
    ops::record(c, &Owner::Team(team.clone()), &actor, &change)?;
    Ok((key, secret.expose().to_owned()))
}

/// Hourly request counts for the last 30 days, shaped like working days (quieter weekends),
/// with a few refusals: scope errors now and then, and a burst over the rate limit yesterday.
fn usage(c: &mut DbConnection, key_id: &str, now: i64, scale: i64) -> QueryResult<()> {
    let this_hour = now - now.rem_euclid(HOUR);
    let counts: Vec<(i64, [i64; 5])> = (0..30 * 24)
        .map(|h| {
            let hour = this_hour - h * HOUR;
            let hour_of_day = (hour / HOUR).rem_euclid(24);
            // 1970-01-01 was a Thursday: days 2 and 3 of the week are the weekend.
            let weekend = matches!((hour / DAY).rem_euclid(7), 2 | 3);
            let busy = match ((8..19).contains(&hour_of_day), weekend) {
                (true, false) => 5,
                (true, true) => 2,
                _ => 1,
            };
            let accepted = scale * busy * (10 + (h * 7) % 13);
            let scope = if h % 29 == 3 { scale / 4 + 1 } else { 0 };
            let rate = if h == 26 { scale * 6 } else { 0 };
            (hour, [accepted, scope, 0, rate, 0])
        })
        .collect();
    recorded_usage::insert_hours(c, key_id, &counts)
}

/// Where a demo key was used from: `(address, first seen ago, last seen ago, requests)`.
fn addresses(
    c: &mut DbConnection,
    key_id: &str,
    now: i64,
    seen: &[(&str, i64, i64, i64)],
) -> QueryResult<()> {
    for (ip, first, last, requests) in seen {
        crate::models::key_address::insert(
            c,
            key_id,
            &crate::models::key_address::KeyAddress {
                ip: (*ip).to_owned(),
                first_seen: now - first,
                last_seen: now - last,
                requests: *requests,
            },
        )?;
    }
    Ok(())
}

/// A demo integration: provider, name, base URL, credential, mode, set by, days ago, last use
/// (seconds ago), test (ok, status, ms, hours ago, excerpt).
struct IntegrationSpec<'a> {
    provider: crate::domain::integration::Provider,
    name: &'a str,
    base_url: &'a str,
    token: &'a str,
    mode: KeyMode,
    by: (&'a UserId, &'a str),
    created_ago: i64,
    last_used_ago: Option<i64>,
    test: Option<(bool, i32, i64, i64, &'a str)>,
}

fn integration(
    c: &mut DbConnection,
    vault: &Keyring,
    team: &TeamId,
    spec: IntegrationSpec<'_>,
    now: i64,
) -> Result<(), AppError> {
    use crate::domain::ids::IntegrationId;
    use crate::domain::integration::Credential;
    use secrecy::SecretString;
    let id = IntegrationId::generate();
    let preset = spec.provider.preset();
    let credential = match preset.placement {
        crate::domain::integration::Placement::Basic => Credential::Basic {
            username: SecretString::from(format!("ck_{}", spec.token)),
            password: SecretString::from(format!("cs_{}", spec.token)),
        },
        _ => Credential::Token(SecretString::from(spec.token.to_owned())),
    };
    let plain = credential.to_plaintext();
    let sealed = vault
        .seal(
            &stores::integration_credential(team.as_str(), &id, 1),
            &plain,
        )
        .map_err(|e| AppError::Internal(format!("demo vault: {e}")))?;
    let at = now - spec.created_ago;
    let row = Integration {
        id: id.clone(),
        team_id: team.clone(),
        mode: spec.mode.as_str().to_owned(),
        provider: spec.provider.slug().to_owned(),
        name: spec.name.to_owned(),
        base_url: spec.base_url.to_owned(),
        created_at: at,
        updated_at: at,
        auth_type: preset.placement.kind().to_owned(),
        auth_name: preset.placement.name().map(str::to_owned),
        auth_prefix: preset.placement.prefix().to_owned(),
        check_path: preset.check_path.to_owned(),
        credential: Some(sealed),
        credential_version: 1,
        credential_fingerprint: Some(vault.fingerprint(team.as_str(), &plain)),
        credential_updated_at: Some(at),
        credential_updated_by: Some(spec.by.1.to_owned()),
        created_by: Some(spec.by.0.clone()),
        last_used_at: spec.last_used_ago.map(|ago| now - ago),
        test_at: None,
        test_ok: None,
        test_status: None,
        test_latency_ms: None,
        test_summary: None,
    };
    Integration::insert(c, &row)?;
    if spec.last_used_ago.is_some_and(|ago| ago < HOUR) {
        // A busy integration: calls every hour of the last day, more in working hours.
        let this_hour = now - now.rem_euclid(HOUR);
        let counts: Vec<(i64, i64)> = (0..30)
            .map(|h| {
                let hour = this_hour - h * HOUR;
                let busy = if (8..19).contains(&(hour / HOUR).rem_euclid(24)) {
                    40
                } else {
                    6
                };
                (hour, busy + (h * 5) % 11)
            })
            .collect();
        Integration::insert_hours(c, &id, &counts)?;
    }
    if let Some((ok, status, ms, hours_ago, excerpt)) = spec.test {
        let outcome = TestOutcome {
            at: now - hours_ago * HOUR,
            ok,
            status: Some(status),
            latency_ms: ms,
            summary: excerpt.to_owned(),
        };
        Integration::save_test(c, &id, &outcome)?;
    }
    Ok(())
}

/// Creates every demo row in one transaction. `password_hash` is the hash of
/// [`DEMO_PASSWORD`], shared by all demo accounts; `vault` seals the demo credentials.
pub fn seed(
    c: &mut DbConnection,
    password_hash: &str,
    vault: &Keyring,
    now: i64,
) -> Result<Seeded, AppError> {
    write_tx(c, |c| {
        let mut ids = vec![];
        for (i, (email, name, _)) in ACCOUNTS.iter().enumerate() {
            let id = UserId::generate();
            User::insert(
                c,
                &NewUser {
                    id: id.as_str(),
                    email,
                    name,
                    password_hash,
                    created_at: now - 200 * DAY + i64::try_from(i).unwrap_or(0) * DAY,
                },
            )?;
            ids.push(id);
        }
        let [ada, ben, cara, dan, nora, omar, hana, ivan, lea] = ids
            .try_into()
            .map_err(|_| AppError::Internal("demo accounts".into()))?;

        // A standalone team in Latchkey's own brand, with keys in every state.
        let acme = Team::create_with_owner(c, "Acme Robotics", &ada, now - 200 * DAY)?;
        let acme_id = acme.team_id();
        for (user, role, ago) in [
            (&ben, Role::Admin, 150),
            (&cara, Role::Developer, 90),
            (&dan, Role::Viewer, 12),
        ] {
            add_member(c, &acme_id, user, role, now - ago * DAY)?;
        }
        let (prod, sample_key) = key(
            c,
            &acme_id,
            &ada,
            KeySpec {
                name: "Production backend",
                env: Some("prod"),
                created_ago: 120 * DAY,
                last_used_ago: Some(3 * 60),
                ..KeySpec::default()
            },
            now,
        )?;
        usage(c, &prod.id, now, 40)?;
        addresses(
            c,
            &prod.id,
            now,
            &[
                ("203.0.113.7", 119 * DAY, 3 * 60, 1_204_311),
                ("203.0.113.8", 64 * DAY, 9 * 60, 598_004),
                ("198.51.100.77", 5 * HOUR, 2 * HOUR, 37),
            ],
        )?;
        let new_address = Change::new(
            AuditAction::ApiKeyNewAddress,
            Target::new("api_key", prod.id.clone(), prod.name.clone()),
        )
        .with("masked", prod.masked())
        .with("mode", prod.mode.as_str())
        .with("ip", "198.51.100.77")
        .with("first_seen_at", now - 5 * HOUR);
        let system = crate::domain::audit::Actor {
            who: crate::domain::audit::Who::System,
            ip: Some("198.51.100.77".to_owned()),
            at: now - 5 * HOUR,
        };
        ops::record(c, &Owner::Team(acme_id.clone()), &system, &new_address)?;
        key(
            c,
            &acme_id,
            &cara,
            KeySpec {
                name: "Staging worker",
                mode: KeyMode::Test,
                env: Some("staging"),
                scopes: scopes(&[Scope::BotsWrite, Scope::ConversationsRead]),
                created_ago: 24 * DAY,
                expires_in: Some(6 * DAY),
                last_used_ago: Some(2 * DAY),
                ip: "198.51.100.14",
                ..KeySpec::default()
            },
            now,
        )?;
        key(
            c,
            &acme_id,
            &ben,
            KeySpec {
                name: "Analytics export",
                scopes: scopes(&[Scope::ConversationsRead]),
                created_ago: 100 * DAY,
                expires_in: Some(-10 * DAY),
                last_used_ago: Some(11 * DAY),
                ..KeySpec::default()
            },
            now,
        )?;
        // Rotated an hour ago with a 24-hour grace period; the old key is still being used.
        let (widget, _) = key(
            c,
            &acme_id,
            &ben,
            KeySpec {
                name: "Support widget",
                env: Some("prod"),
                scopes: scopes(&[Scope::ChannelsRead, Scope::ConversationsWrite]),
                created_ago: 60 * DAY,
                last_used_ago: Some(5 * 60),
                ..KeySpec::default()
            },
            now,
        )?;
        use crate::domain::integration::Provider;
        integration(
            c,
            vault,
            &acme_id,
            IntegrationSpec {
                provider: Provider::Shopify,
                name: "Acme store",
                base_url: "https://acme-robotics.myshopify.com/admin/api/2025-01",
                token: "shpat_demo_store_token",
                mode: KeyMode::Live,
                by: (&ada, "Ada Lovelace"),
                created_ago: 3 * DAY,
                last_used_ago: Some(4 * 60),
                test: Some((
                    true,
                    200,
                    84,
                    2,
                    r#"{"shop":{"id":548380009,"name":"Acme Robotics","currency":"EUR"}}"#,
                )),
            },
            now,
        )?;
        integration(
            c,
            vault,
            &acme_id,
            IntegrationSpec {
                provider: Provider::HubSpot,
                name: "Sales CRM",
                base_url: "https://api.hubapi.com",
                token: "pat-demo-crm-token",
                mode: KeyMode::Live,
                by: (&ben, "Ben Okafor"),
                created_ago: 40 * DAY,
                last_used_ago: Some(26 * HOUR),
                test: Some((
                    false,
                    401,
                    31,
                    20,
                    r#"{"status":"error","message":"Authentication credentials not found."}"#,
                )),
            },
            now,
        )?;
        integration(
            c,
            vault,
            &acme_id,
            IntegrationSpec {
                provider: Provider::Calendly,
                name: "Demo bookings",
                base_url: "https://api.calendly.com",
                token: "demo-calendly-token",
                mode: KeyMode::Test,
                by: (&cara, "Cara Jensen"),
                created_ago: 6 * DAY,
                last_used_ago: None,
                test: None,
            },
            now,
        )?;
        let (successor, _) = ApiKey::rotate(c, &widget, 24 * HOUR, Some(&ben), now - HOUR)
            .map_err(|_| AppError::Internal("demo rotation failed".into()))?;
        let rotated = Change::new(
            AuditAction::ApiKeyRotated,
            Target::new("api_key", widget.id.clone(), widget.name.clone()),
        )
        .with("successor_id", successor.id)
        .with("grace_seconds", 24 * HOUR)
        .with("old_key_works_until", now - HOUR + 24 * HOUR);
        let actor = demo_actor(c, &ben, now - HOUR)?;
        ops::record(c, &Owner::Team(acme_id.clone()), &actor, &rotated)?;
        key(
            c,
            &acme_id,
            &cara,
            KeySpec {
                name: "Zapier integration",
                scopes: scopes(&[Scope::IntegrationsWrite]),
                created_ago: 5 * DAY,
                ..KeySpec::default()
            },
            now,
        )?;
        let (leaked, _) = key(
            c,
            &acme_id,
            &ada,
            KeySpec {
                name: "Old CI key",
                scopes: scopes(&[Scope::BotsWrite]),
                created_ago: 300 * DAY,
                last_used_ago: Some(2 * DAY + HOUR),
                ip: "192.0.2.50",
                ..KeySpec::default()
            },
            now,
        )?;
        ApiKey::report_leaked(c, &leaked.id, now - 2 * DAY)?;
        let report = Actor {
            who: Who::Key {
                id: leaked.key_id(),
                name: leaked.name.clone(),
            },
            ip: Some("192.0.2.50".into()),
            at: now - 2 * DAY,
        };
        let change = Change::new(
            AuditAction::ApiKeyLeaked,
            Target::new("api_key", leaked.id.clone(), leaked.name.clone()),
        )
        .with("masked", leaked.masked());
        ops::record(c, &Owner::Team(acme_id.clone()), &report, &change)?;
        key(
            c,
            &acme_id,
            &ben,
            KeySpec {
                name: "Partner sandbox",
                mode: KeyMode::Test,
                env: Some("dev"),
                scopes: scopes(&[Scope::AgentLoopsRead]),
                created_ago: 14 * DAY,
                last_used_ago: Some(6 * HOUR),
                rate: Some(120),
                allow: Some("198.51.100.0/24"),
                ip: "198.51.100.20",
                ..KeySpec::default()
            },
            now,
        )?;

        webhooks(c, vault, &acme_id, &ada, now)?;

        // A second team of Ada's without keys yet (the empty state).
        let labs = Team::create_with_owner(c, "Acme Labs", &ada, now - 2 * DAY)?;
        add_member(c, &labs.team_id(), &cara, Role::Developer, now - DAY)?;

        // An agency with its brand and two clients.
        let agency = Agency::create_with_owner(c, "Northstar Digital", &nora, now - 180 * DAY)?;
        let agency_id = agency.agency_id();
        add_operator(c, &agency_id, &omar, AgencyRole::Operator, now - 170 * DAY)?;
        Agency::save_brand(
            c,
            &agency_id,
            &BrandSettings {
                product_name: Some("Northstar Console".into()),
                primary_color: Some("#0f766e".into()),
                support_email: Some("support@northstar.test".into()),
                powered_by: false,
                hosts: vec!["northstar.localhost".into()],
            },
        )
        .map_err(|_| AppError::Internal("demo brand".into()))?;
        Agency::set_logo(c, &agency_id, Some((LOGO, "image/png")))?;
        let agency_log = Owner::Agency(agency_id.clone());
        let harbor = Team::create(c, "Harbor Coffee", Some(&agency.id), now - 160 * DAY)?;
        let created = Change::new(
            AuditAction::ClientCreated,
            Target::new("client", harbor.id.clone(), harbor.name.clone()),
        );
        let actor = demo_actor(c, &nora, now - 160 * DAY)?;
        ops::record(c, &agency_log, &actor, &created)?;
        let atlas = Team::create(c, "Atlas Outfitters", Some(&agency.id), now - 95 * DAY)?;
        let created = Change::new(
            AuditAction::ClientCreated,
            Target::new("client", atlas.id.clone(), atlas.name.clone()),
        );
        let actor = demo_actor(c, &nora, now - 95 * DAY)?;
        ops::record(c, &agency_log, &actor, &created)?;
        add_member(c, &harbor.team_id(), &hana, Role::Owner, now - 150 * DAY)?;
        add_member(c, &harbor.team_id(), &ivan, Role::Developer, now - 40 * DAY)?;
        add_member(c, &atlas.team_id(), &lea, Role::Viewer, now - 30 * DAY)?;
        let (ordering, _) = key(
            c,
            &harbor.team_id(),
            &hana,
            KeySpec {
                name: "Ordering bot",
                env: Some("prod"),
                scopes: scopes(&[
                    Scope::BotsWrite,
                    Scope::ChannelsWrite,
                    Scope::ConversationsWrite,
                ]),
                created_ago: 110 * DAY,
                expires_in: Some(10 * DAY),
                last_used_ago: Some(20 * 60),
                ..KeySpec::default()
            },
            now,
        )?;
        usage(c, &ordering.id, now, 12)?;
        key(
            c,
            &harbor.team_id(),
            &nora,
            KeySpec {
                name: "Agency automation",
                created_ago: 45 * DAY,
                last_used_ago: Some(41 * DAY),
                ..KeySpec::default()
            },
            now,
        )?;
        key(
            c,
            &harbor.team_id(),
            &ivan,
            KeySpec {
                name: "Loyalty sync",
                mode: KeyMode::Test,
                scopes: scopes(&[Scope::IntegrationsRead]),
                created_ago: 3 * DAY,
                last_used_ago: Some(HOUR),
                ..KeySpec::default()
            },
            now,
        )?;
        integration(
            c,
            vault,
            &harbor.team_id(),
            IntegrationSpec {
                provider: Provider::WooCommerce,
                name: "Harbor shop",
                base_url: "https://shop.harbor.test/wp-json/wc/v3",
                token: "demo_harbor",
                mode: KeyMode::Live,
                by: (&omar, "Omar Haddad"),
                created_ago: 30 * DAY,
                last_used_ago: Some(90 * 60),
                test: Some((false, 503, 2011, 5, "Service Unavailable")),
            },
            now,
        )?;
        key(
            c,
            &atlas.team_id(),
            &omar,
            KeySpec {
                name: "Storefront assistant",
                scopes: scopes(&[Scope::BotsRead, Scope::ConversationsRead]),
                created_ago: 20 * DAY,
                last_used_ago: Some(4 * DAY),
                ..KeySpec::default()
            },
            now,
        )?;
        Ok(Seeded { sample_key })
    })
}

/// A demo user acting at `at` from the documentation address.
/// Two webhook endpoints with a delivery history: one enabled (a leaked-key alert that
/// succeeded on its second attempt), one disabled after a `410`. They want only events that
/// the dashboard's own suites never cause, and start after the seeded events, so the pages
/// look the same on every start.
fn webhooks(
    c: &mut DbConnection,
    vault: &Keyring,
    team: &TeamId,
    by: &UserId,
    now: i64,
) -> Result<(), AppError> {
    use crate::db::schema::outbox_events;
    use crate::domain::ids::{AttemptId, DeliveryId, OutboxEventId, WebhookEndpointId};
    use crate::domain::webhook::SigningSecret;
    use crate::models::webhook::{Attempt, Delivery, WebhookEndpoint};
    let since = crate::models::outbox::newest_event(c)?;
    let event_of = |c: &mut DbConnection, kind: &str| -> QueryResult<(OutboxEventId, i64)> {
        outbox_events::table
            .filter(outbox_events::team_id.eq(team.as_str()))
            .filter(outbox_events::event_type.eq(kind))
            .order(outbox_events::id.desc())
            .select((outbox_events::id, outbox_events::created_at))
            .first(c)
    };
    // (url, description, events, disabled because, event, attempts: (after s, status, ms, excerpt))
    type Attempts<'a> = &'a [(i64, i32, i64, &'a str)];
    type Spec<'a> = (
        &'a str,
        &'a str,
        &'a str,
        Option<&'a str>,
        &'a str,
        Attempts<'a>,
    );
    let specs: [Spec<'_>; 2] = [
        (
            "https://hooks.acme-robotics.example/latchkey",
            "Security alerts to the on-call channel",
            "api_key.leaked",
            None,
            "api_key.leaked",
            &[
                (0, 503, 2_003, r#"{"error":"upstream busy, retry later"}"#),
                (5, 200, 142, r#"{"ok":true}"#),
            ],
        ),
        (
            "https://crm.acme-robotics.example/webhooks/latchkey",
            "Old CRM sync",
            "*",
            Some("The endpoint answered 410 Gone."),
            "api_key.rotated",
            &[(0, 410, 38, r#"{"error":"this integration was removed"}"#)],
        ),
    ];
    for (i, (url, description, events, disabled, kind, attempts)) in specs.into_iter().enumerate() {
        let id = WebhookEndpointId::generate();
        let sealed = vault
            .seal(
                &stores::webhook_secret(team.as_str(), &id, 1),
                SigningSecret::generate().as_secret(),
            )
            .map_err(|e| AppError::Internal(format!("demo vault: {e}")))?;
        let created = now - (30 + 10 * i64::try_from(i).unwrap_or(0)) * DAY;
        WebhookEndpoint::insert(
            c,
            &WebhookEndpoint {
                id: id.clone(),
                team_id: Some(team.clone()),
                agency_id: None,
                url: url.to_owned(),
                description: description.to_owned(),
                event_types: events.to_owned(),
                enabled: disabled.is_none(),
                disabled_reason: disabled.map(str::to_owned),
                secret: sealed,
                secret_version: 1,
                previous_secret: None,
                previous_secret_version: None,
                previous_until: None,
                created_by: Some(by.clone()),
                since_event: since.clone(),
                created_at: created,
                updated_at: created,
                failing_since: None,
            },
        )?;
        let (event, at) = event_of(c, kind)?;
        let delivery = Delivery::pending(DeliveryId::generate_ordered(), &id, &event, kind, at);
        Delivery::insert_new(c, std::slice::from_ref(&delivery))?;
        for (n, (after, status, ms, excerpt)) in attempts.iter().enumerate() {
            let number = i64::try_from(n).unwrap_or(0) + 1;
            let ok = (200..300).contains(status);
            let attempt = Attempt {
                id: AttemptId::generate_ordered(),
                delivery_id: delivery.id.clone(),
                attempt: number,
                at: at + after,
                status_code: Some(*status),
                latency_ms: *ms,
                error: None,
                excerpt: Some((*excerpt).to_owned()),
            };
            let last = n + 1 == attempts.len();
            let state = match (ok, last) {
                (true, _) => "succeeded",
                (false, true) => "failed",
                (false, false) => "pending",
            };
            Delivery::record_attempt(c, &delivery, &attempt, state, None)?;
        }
    }
    Ok(())
}

fn demo_actor(c: &mut DbConnection, user: &UserId, at: i64) -> QueryResult<Actor> {
    let name = crate::models::user::User::find(c, user)?
        .map(|u| u.name)
        .unwrap_or_default();
    Ok(Actor {
        who: Who::User {
            id: user.clone(),
            name,
        },
        ip: Some("198.51.100.23".into()),
        at,
    })
}
