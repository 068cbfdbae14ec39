//! E-mail (`LATCHKEY_SMTP_URL`): invitations and key-expiry notices received by a real SMTP
//! server (aiosmtpd, `tests/mail/sink.py`), with the right links, brands and recipients and no
//! secret; a refusing server is retried; without e-mail nothing changes.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use diesel::prelude::*;
use latchkey::db::schema::{api_keys, mail_queue};
use latchkey::domain::role::Role;
use latchkey::jobs::{key_notices, mail};
use serde_json::Value;

use crate::agencies::{create_agency, create_client, post_brand};
use crate::helpers::{KeySpec, PASSWORD, TestApp, each_db, each_db_with};

/// A running SMTP sink and the folder it writes received mails to.
pub(crate) struct Sink {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
}

impl Sink {
    pub(crate) fn start() -> Sink {
        let python = std::env::var("LATCHKEY_VENV")
            .map(|v| PathBuf::from(v).join("bin/python3"))
            .ok()
            .filter(|p| p.exists())
            .or_else(|| {
                let p = PathBuf::from("/var/tmp/latchkey-venv/bin/python3");
                p.exists().then_some(p)
            })
            .unwrap_or_else(|| PathBuf::from("python3"));
        let dir = tempfile::tempdir().expect("sink dir");
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mail/sink.py");
        let mut child = Command::new(&python)
            .arg(script)
            .arg(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the SMTP sink (python3 with aiosmtpd: .ci/run installs it)");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("sink port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            panic!("the SMTP sink did not start ({python:?} needs aiosmtpd; .ci/run installs it)")
        });
        Sink { child, dir, port }
    }

    pub(crate) fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every mail received since the last call, in order (and forgets them).
    pub(crate) fn take(&self) -> Vec<Value> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("sink dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| {
                let v =
                    serde_json::from_str(&std::fs::read_to_string(p).expect("mail")).expect("json");
                std::fs::remove_file(p).expect("forget");
                v
            })
            .collect()
    }

    /// Waits (up to 10 s) until `n` mails arrived since the last call, then takes them all.
    pub(crate) async fn wait_for(&self, n: usize) -> Vec<Value> {
        for _ in 0..200 {
            let count = std::fs::read_dir(self.dir.path())
                .expect("sink dir")
                .filter(|e| {
                    e.as_ref()
                        .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json"))
                })
                .count();
            if count >= n {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.take()
    }

    pub(crate) fn refuse(&self, on: bool) {
        let flag = self.dir.path().join("refuse");
        if on {
            std::fs::write(flag, b"").expect("flag");
        } else {
            let _ = std::fs::remove_file(flag);
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field].as_str().unwrap_or_default()
}

/// Posts an invitation through the members page; returns the page.
async fn invite(app: &TestApp, slug: &str, email: &str, role: &str) -> crate::helpers::Resp {
    let url = format!("/teams/{slug}/settings/members");
    let page = app.get(&url).await;
    app.post(
        &format!("{url}/invitations"),
        &[
            ("csrf_token", &page.csrf()),
            ("email", email),
            ("role", role),
        ],
    )
    .await
}

/// A live key of team `slug` that expires `in_secs` from the test clock's now: (id, secret).
fn expiring_key(app: &TestApp, slug: &str, in_secs: i64) -> (String, String) {
    let (id, secret) = app.make_key(KeySpec {
        team: slug,
        scopes: &["bots:read"],
        mode: "live",
    });
    let at = app.clock().now() + in_secs;
    app.db(|c| {
        diesel::update(api_keys::table.find(&id))
            .set(api_keys::expires_at.eq(Some(at)))
            .execute(c)
    })
    .expect("expiry");
    (id, secret)
}

fn shown_link(page: &str) -> String {
    let start = page.find("http://").expect("link shown");
    let tail = &page[start..];
    tail[..tail.find('"').expect("end")].replace("&amp;", "&")
}

#[actix_web::test]
async fn an_invitation_is_mailed_with_its_one_time_link_and_nothing_secret() {
    let sink = Sink::start();
    let url = sink.url();
    let sink = &sink;
    each_db_with(
        |c| c.smtp_url = Some(url.clone().into()),
        |app| async move {
            let slug = app.set_up("ada@example.com", "Acme").await;
            let (_, key) = app.make_key(KeySpec {
                team: &slug,
                scopes: &["admin"],
                mode: "live",
            });
            let res = invite(&app, &slug, "grace@example.com", "developer").await;
            res.assert_status(200);
            assert!(
                res.body
                    .contains("Invitation e-mailed to grace@example.com"),
                "{}",
                res.body
            );
            let link = shown_link(&res.body[res.body.find("invitation-link").expect("panel")..]);
            let mails = sink.take();
            assert_eq!(mails.len(), 1, "{mails:?}");
            let m = &mails[0];
            assert_eq!(m["envelope_to"], serde_json::json!(["grace@example.com"]));
            assert_eq!(s(m, "to"), "grace@example.com");
            assert_eq!(s(m, "from"), "Latchkey <latchkey@localhost>");
            assert_eq!(s(m, "subject"), "Ada Owner invited you to Acme on Latchkey");
            assert_eq!(s(m, "content_type"), "multipart/alternative");
            for part in [s(m, "text"), s(m, "html")] {
                assert!(
                    part.contains(&link),
                    "the page's link is in the mail: {part}"
                );
                assert!(
                    part.contains("as developer") || part.contains("<strong>developer</strong>")
                );
                // Nothing secret: no key, no password, no session or CSRF token.
                assert!(!part.contains(&key));
                assert!(!part.contains("sk_live_") && !part.contains("sk_test_"));
                assert!(!part.contains(PASSWORD));
                assert!(!part.contains(&res.csrf()));
            }
            assert!(s(m, "text").contains("The link works once, until"));
            // The mailed link is the invitation: it opens the sign-up for that address.
            app.swap_cookies(Default::default());
            let page = app
                .get(link.trim_start_matches("http://localhost:8080"))
                .await;
            page.assert_status(200);
            assert!(page.body.contains("data-state=\"sign-up\""));
        },
    )
    .await;
}

#[actix_web::test]
async fn an_agency_client_s_invitation_wears_the_agency_brand() {
    let sink = Sink::start();
    let url = sink.url();
    let sink = &sink;
    each_db_with(
        |c| c.smtp_url = Some(url.clone().into()),
        |app| async move {
            app.set_up("ada@example.com", "Ada Labs").await;
            let agency = create_agency(&app, "Acme Agency").await;
            let north = create_client(&app, &agency, "Northwind").await;
            let form = app.get(&format!("/agencies/{agency}/brand")).await;
            post_brand(
                &app,
                &agency,
                &[
                    ("csrf_token", &form.csrf()),
                    ("product_name", "AcmeDesk"),
                    ("primary_color", "#0F766E"),
                    ("support_email", "help@acme-agency.test"),
                    ("hosts", "dash.acme-agency.test\n"),
                ],
                None,
            )
            .await
            .assert_status(303);
            sink.take();
            app.set_host("dash.acme-agency.test");
            invite(&app, &north, "bob@northwind.test", "admin")
                .await
                .assert_status(200);
            let mails = sink.take();
            assert_eq!(mails.len(), 1);
            let m = &mails[0];
            assert_eq!(s(m, "from"), "AcmeDesk <latchkey@localhost>");
            assert_eq!(s(m, "reply_to"), "help@acme-agency.test");
            assert_eq!(
                s(m, "subject"),
                "Ada Owner invited you to Northwind on AcmeDesk"
            );
            assert!(s(m, "html").contains("#0f766e"));
            assert!(
                s(m, "text").contains("http://dash.acme-agency.test:8080/invitations?token="),
                "the link is on the agency's host: {}",
                s(m, "text")
            );
            assert!(!s(m, "html").contains("Latchkey"));

            // Operator invitations are mailed too, in the same brand.
            let page = app.get(&format!("/agencies/{agency}/operators")).await;
            let res = app
                .post(
                    &format!("/agencies/{agency}/operators/invitations"),
                    &[
                        ("csrf_token", &page.csrf()),
                        ("email", "op@acme-agency.test"),
                    ],
                )
                .await;
            res.assert_status(200);
            assert!(
                res.body
                    .contains("Invitation e-mailed to op@acme-agency.test")
            );
            let mails = sink.take();
            assert_eq!(mails.len(), 1);
            assert_eq!(
                s(&mails[0], "subject"),
                "Ada Owner invited you to Acme Agency on AcmeDesk"
            );
            assert!(s(&mails[0], "text").contains("as operator"));
        },
    )
    .await;
}

#[actix_web::test]
async fn expiry_notices_are_mailed_to_owners_and_admins_once_each() {
    let sink = Sink::start();
    let url = sink.url();
    let sink = &sink;
    each_db_with(
        |c| c.smtp_url = Some(url.clone().into()),
        |app| async move {
            let slug = app.set_up("ada@example.com", "Acme").await;
            app.add_member(&slug, "root@example.com", Role::Admin).await;
            app.add_member(&slug, "dev@example.com", Role::Developer)
                .await;
            let now = app.clock().now();
            let expires = now + 6 * 86_400;
            let (id, secret) = expiring_key(&app, &slug, 6 * 86_400);

            assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 1);
            let round = mail::run_once(&app.state).await.expect("mail round");
            assert_eq!((round.sent, round.failed), (2, 0));
            let mails = sink.take();
            let mut to: Vec<&str> = mails.iter().map(|m| s(m, "to")).collect();
            to.sort();
            assert_eq!(
                to,
                ["ada@example.com", "root@example.com"],
                "not the developer"
            );
            let m = &mails[0];
            let name: String = app
                .db(|c| api_keys::table.find(&id).select(api_keys::name).first(c))
                .expect("name");
            assert_eq!(
                s(m, "subject"),
                format!("The API key “{name}” expires in 7 days — Acme")
            );
            let page_link = format!("http://localhost:8080/teams/{slug}/settings/api-keys/{id}");
            assert!(s(m, "text").contains(&page_link), "{}", s(m, "text"));
            assert!(s(m, "html").contains(&page_link));
            assert!(s(m, "text").contains(&latchkey::timefmt::human(expires)));
            let tail = &secret[secret.len() - 4..];
            assert!(
                s(m, "text").contains(&format!("…{tail}")),
                "masked key shown"
            );
            assert!(!s(m, "text").contains(&secret) && !s(m, "html").contains(&secret));

            // Once: neither the sweep nor the mail job sends it again.
            assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 0);
            assert_eq!(mail::run_once(&app.state).await.expect("round").sent, 0);
            assert!(sink.take().is_empty());

            // Within a day: "expires tomorrow"; past it: "has expired".
            app.clock().advance(5 * 86_400 + 3600);
            assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 1);
            mail::run_once(&app.state).await.expect("round");
            let mails = sink.take();
            assert_eq!(mails.len(), 2);
            assert!(s(&mails[0], "subject").contains("expires tomorrow"));
            app.clock().advance(86_400);
            assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 1);
            mail::run_once(&app.state).await.expect("round");
            let mails = sink.take();
            assert_eq!(mails.len(), 2);
            assert!(s(&mails[0], "subject").contains("has expired"));
            assert!(s(&mails[0], "text").contains("Requests made with it are refused now"));
        },
    )
    .await;
}

#[actix_web::test]
async fn a_mail_server_that_refuses_gets_retries_and_the_inviter_still_gets_the_link() {
    let sink = Sink::start();
    let url = sink.url();
    let sink = &sink;
    each_db_with(
        |c| c.smtp_url = Some(url.clone().into()),
        |app| async move {
            let slug = app.set_up("ada@example.com", "Acme").await;
            sink.refuse(true);
            let res = invite(&app, &slug, "grace@example.com", "viewer").await;
            res.assert_status(200);
            assert!(
                res.body.contains("The e-mail could not be sent"),
                "{}",
                res.body
            );
            assert!(res.body.contains("the mail server refused the message"));
            assert!(
                res.body.contains("/invitations?token="),
                "the link is handed over"
            );

            let now = app.clock().now();
            expiring_key(&app, &slug, 3600);
            key_notices::run_once(&app.state).await.expect("sweep");
            let round = mail::run_once(&app.state).await.expect("round");
            assert_eq!((round.sent, round.failed), (0, 1));
            let (attempts, next, error): (i32, Option<i64>, Option<String>) = app
                .db(|c| {
                    mail_queue::table
                        .select((
                            mail_queue::attempts,
                            mail_queue::next_attempt_at,
                            mail_queue::last_error,
                        ))
                        .first(c)
                })
                .expect("queued");
            assert_eq!((attempts, next), (1, Some(now + 30)));
            assert!(error.unwrap_or_default().contains("refused"));
            // Not before its time; then the server takes it.
            sink.refuse(false);
            assert_eq!(mail::run_once(&app.state).await.expect("round").sent, 0);
            app.clock().advance(30);
            assert_eq!(mail::run_once(&app.state).await.expect("round").sent, 1);
            let mails = sink.take();
            assert_eq!(mails.len(), 1);
            assert!(s(&mails[0], "subject").contains("expires tomorrow"));
            let (sent_at, next): (Option<i64>, Option<i64>) = app
                .db(|c| {
                    mail_queue::table
                        .select((mail_queue::sent_at, mail_queue::next_attempt_at))
                        .first(c)
                })
                .expect("row");
            assert_eq!((sent_at, next), (Some(now + 30), None));
        },
    )
    .await;
}

#[actix_web::test]
async fn without_an_smtp_server_nothing_is_mailed_or_queued() {
    each_db(|app| async move {
        let slug = app.set_up("ada@example.com", "Acme").await;
        let res = invite(&app, &slug, "grace@example.com", "viewer").await;
        res.assert_status(200);
        assert!(res.body.contains("Copy it now"));
        assert!(!res.body.contains("e-mailed"));
        expiring_key(&app, &slug, 3600);
        assert_eq!(key_notices::run_once(&app.state).await.expect("sweep"), 1);
        let queued: i64 = app
            .db(|c| mail_queue::table.count().get_result(c))
            .expect("count");
        assert_eq!(queued, 0);
        assert_eq!(
            mail::run_once(&app.state).await.expect("round"),
            mail::Round::default()
        );
    })
    .await;
}
