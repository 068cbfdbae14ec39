//! Every input limit, written once: the parsers, the API's field checks and the OpenAPI
//! document all read these.

/// Longest name (keys, teams, clients, bots, channels, integrations, agent loops), characters.
pub const NAME_MAX: usize = 64;
/// Longest id given as a reference (`bot_id`) before it is even looked up, characters.
pub const REFERENCE_MAX: usize = 64;
/// Longest bot description, characters.
pub const DESCRIPTION_MAX: usize = 500;
/// Longest agent-loop instructions, characters.
pub const INSTRUCTIONS_MAX: usize = 10_000;
/// Longest conversation title, characters.
pub const TITLE_MAX: usize = 200;
/// Longest integration base URL, characters.
pub const URL_MAX: usize = 2048;
/// Longest environment label (`prod`, `staging`…), characters.
pub const ENV_LABEL_MAX: usize = 12;
/// Longest expiry a key may be given through the API, days (five years).
pub const EXPIRY_DAYS_MAX: i64 = 1825;
/// Longest grace period a rotation may give, seconds (7 days).
pub const GRACE_SECONDS_MAX: i64 = 7 * 86_400;
/// Highest per-key or per-team rate limit, requests per minute.
pub const RATE_LIMIT_MAX: i64 = 100_000;
/// Most entries an IP allowlist may hold.
pub const ALLOWLIST_MAX: usize = 50;
/// Largest body a bot flow may send through an integration (bytes).
pub const INTEGRATION_REQUEST_BODY_MAX: usize = 256 * 1024;
/// Largest answer an integration call passes back (bytes); a longer one is refused (502).
pub const INTEGRATION_RESPONSE_MAX: usize = 1024 * 1024;
/// Headers a bot flow may add to one integration request.
pub const INTEGRATION_HEADERS_MAX: usize = 32;
/// Characters of an answer kept as a connection test's excerpt.
pub const TEST_EXCERPT_MAX: usize = 200;
/// Integrations per team.
pub const INTEGRATIONS_MAX: i64 = 100;
/// Webhook endpoints per team.
pub const WEBHOOK_ENDPOINTS_MAX: usize = 16;
