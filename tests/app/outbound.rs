//! The guarded outbound client (DESIGN §9): the SSRF table is refused without the allowlist;
//! the loopback receiver is reached with it; redirects are never followed.

use std::collections::HashMap;
use std::time::Duration;

use latchkey::outbound::{Outbound, OutboundError, Policy, Request, Settings};

use crate::receiver::{Receiver, json_reply};

fn client(allow: &[&str]) -> Outbound {
    let mut settings = Settings::new(Policy::new(
        allow.iter().map(|c| c.parse().expect("cidr")).collect(),
    ));
    settings.connect_timeout = Duration::from_secs(2);
    settings.total_timeout = Duration::from_secs(3);
    // "A name that resolves to 127.0.0.1", without depending on this machine's DNS.
    settings.fixed_names = HashMap::from([(
        "rebind.example".to_owned(),
        vec!["127.0.0.1".parse().expect("ip")],
    )]);
    Outbound::new(settings).expect("client")
}

fn get(url: &str) -> Request {
    Request {
        method: reqwest::Method::GET,
        url: url::Url::parse(url).expect("url"),
        headers: Default::default(),
        body: Vec::new(),
        response_cap: 1024,
    }
}

#[actix_web::test]
async fn the_ssrf_table_is_refused_without_the_allowlist_and_nothing_reaches_the_receiver() {
    let receiver = Receiver::ok().await;
    let port = receiver.addr.port();
    let guard = client(&[]);
    let table = [
        format!("http://127.0.0.1:{port}/"),
        format!("https://127.0.0.1:{port}/"),
        format!("https://localhost:{port}/"),
        format!("https://localhost.:{port}/"),
        format!("https://[::1]:{port}/"),
        format!("https://[::ffff:127.0.0.1]:{port}/"),
        format!("https://0.0.0.0:{port}/"),
        "https://10.1.2.3/".to_owned(),
        "https://172.16.0.1/".to_owned(),
        "https://172.31.255.254/".to_owned(),
        "https://192.168.1.1/".to_owned(),
        "https://100.64.0.1/".to_owned(),
        "https://169.254.169.254/latest/meta-data/".to_owned(),
        "https://[fc00::1]/".to_owned(),
        "https://[fd00:ec2::254]/".to_owned(),
        "https://[fe80::1]/".to_owned(),
        format!("https://2130706433:{port}/"),
        format!("https://0x7f.1:{port}/"),
        format!("https://rebind.example:{port}/"),
        format!("http://rebind.example:{port}/"),
        "file:///etc/passwd".to_owned(),
        format!("gopher://127.0.0.1:{port}/_GET"),
    ];
    for url in &table {
        let refused = guard.send(get(url)).await;
        match refused {
            Err(
                OutboundError::Blocked(_) | OutboundError::Scheme | OutboundError::Unresolved(_),
            ) => {}
            other => panic!("{url} must be refused by the guard, got {other:?}"),
        }
    }
    assert_eq!(
        receiver.seen().len(),
        0,
        "no request reached the loopback receiver"
    );
    // The messages say what to do, not what the socket said.
    let Err(e) = guard.send(get(&format!("https://127.0.0.1:{port}/"))).await else {
        panic!("refused");
    };
    assert!(
        e.to_string().contains("LATCHKEY_OUTBOUND_ALLOW_CIDRS"),
        "{e}"
    );
}

#[actix_web::test]
async fn the_allowlist_admits_the_loopback_receiver_over_http_and_nothing_else() {
    let receiver = Receiver::ok().await;
    let guard = client(&["127.0.0.0/8"]);
    let answer = guard
        .send(get(&format!("{}/ping?x=1", receiver.url())))
        .await
        .expect("sent");
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, br#"{"ok":true}"#);
    let seen = receiver.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].target, "/ping?x=1");
    // A name that resolves into the allowlist is admitted too; other private ranges are not.
    let by_name = format!("http://rebind.example:{}/", receiver.addr.port());
    assert_eq!(guard.send(get(&by_name)).await.expect("sent").status, 200);
    assert!(matches!(
        guard.send(get("http://10.1.2.3/")).await,
        Err(OutboundError::Blocked(_))
    ));
    assert!(
        matches!(
            guard.send(get("http://8.8.8.8/")).await,
            Err(OutboundError::Scheme)
        ),
        "plain http to a public address is not admitted by a private allowlist"
    );
}

#[actix_web::test]
async fn a_redirect_is_returned_as_it_is_and_never_followed() {
    let inner = Receiver::ok().await;
    let target = format!("{}/internal", inner.url());
    let outer = Receiver::start(move |_| {
        format!("HTTP/1.1 302 Found\r\nlocation: {target}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
    })
    .await;
    let guard = client(&["127.0.0.0/8"]);
    let answer = guard.send(get(&outer.url())).await.expect("sent");
    assert_eq!(answer.status, 302);
    assert_eq!(inner.seen().len(), 0, "the redirect target was not called");
    let to_metadata = Receiver::start(|_| {
        "HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data/\r\ncontent-length: 0\r\n\r\n".to_owned()
    })
    .await;
    assert_eq!(
        guard
            .send(get(&to_metadata.url()))
            .await
            .expect("sent")
            .status,
        302
    );
}

#[actix_web::test]
async fn answers_are_cut_at_the_cap_and_a_silent_peer_times_out() {
    let big = "x".repeat(5000);
    let chatty = Receiver::start(move |_| json_reply(200, &big)).await;
    let guard = client(&["127.0.0.0/8"]);
    let answer = guard.send(get(&chatty.url())).await.expect("sent");
    assert_eq!(answer.body.len(), 1024);
    assert!(answer.truncated);
    let silent = Receiver::start(|_| String::new()).await;
    assert!(matches!(
        guard.send(get(&silent.url())).await,
        Err(OutboundError::Timeout(3))
    ));
}
