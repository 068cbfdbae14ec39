//! A loopback HTTP receiver for outbound calls: records every request exactly as it arrived
//! and answers with a scripted reply. Plain HTTP/1.1 over a tokio socket, so a test sees the
//! very bytes Latchkey sent (and can answer with anything, a redirect or silence included).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `GET`, `POST`…
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    /// Header (name lower-cased, value) in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The whole request as received.
    pub raw: Vec<u8>,
}

impl Seen {
    /// The value of header `name`, if sent.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Script = Arc<dyn Fn(&Seen) -> String + Send + Sync>;

/// A listening receiver.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

/// A reply with `status`, a JSON content type and `body`.
pub fn json_reply(status: u16, body: &str) -> String {
    format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

impl Receiver {
    /// Starts a receiver on 127.0.0.1 answering every request with `script(request)`.
    pub async fn start(script: impl Fn(&Seen) -> String + Send + Sync + 'static) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Script = Arc::new(script);
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (log, script) = (log.clone(), script.clone());
                tokio::spawn(async move {
                    let Some(req) = read_request(&mut socket).await else {
                        return;
                    };
                    let reply = script(&req);
                    log.lock().expect("log").push(req);
                    if reply.is_empty() {
                        // Silence: hold the connection open until the client gives up.
                        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
                        return;
                    }
                    let _ = socket.write_all(reply.as_bytes()).await;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Receiver { addr, seen }
    }

    /// A receiver answering 200 with `{"ok":true}`.
    pub async fn ok() -> Receiver {
        Self::start(|_| json_reply(200, r#"{"ok":true}"#)).await
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("log").clone()
    }
}

async fn read_request(socket: &mut tokio::net::TcpStream) -> Option<Seen> {
    let mut raw = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        raw.extend_from_slice(&buf[..n]);
        if let Some(i) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_owned();
    let target = first.next()?.to_owned();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    while raw.len() < head_end + length {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    let body = raw[head_end..].to_vec();
    Some(Seen {
        method,
        target,
        headers,
        body,
        raw,
    })
}
