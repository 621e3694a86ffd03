//! The error mapping, driven through the real SDK by a server that answers every request with a
//! canned KMS (JSON protocol) response.

use coffer_cloud::{Cloud, ErrorKind};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::support::{cloud_at, cluster};

async fn answer(mut sock: TcpStream, status: u16, body: &'static str) {
    // Read the request head and body so the client sees a well-behaved HTTP/1.1 peer.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let Ok(n) = sock.read(&mut chunk).await else { return };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + length {
        match sock.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let response = format!(
        "HTTP/1.1 {status} Canned\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = sock.write_all(response.as_bytes()).await;
    let _ = sock.shutdown().await;
}

/// Serves `status`/`body` to every request until the test ends.
async fn canned(status: u16, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            tokio::spawn(answer(sock, status, body));
        }
    });
    url
}

#[tokio::test]
async fn provider_errors_map_to_transient_permanent_or_not_found() {
    let check = |status: u16, body: &'static str, kind: ErrorKind, code: Option<&'static str>| async move {
        let cloud = cloud_at(&canned(status, body).await, 1).await;
        let e = cloud.ensure_kms_key(&cluster("eu-west-1"), None).await.unwrap_err();
        assert_eq!((e.kind(), e.code()), (kind, code), "{status} {body}: {e}");
        assert_eq!(e.retryable(), kind == ErrorKind::Transient);
    };
    check(
        400,
        r#"{"__type":"ThrottlingException","message":"slow down"}"#,
        ErrorKind::Transient,
        Some("ThrottlingException"),
    )
    .await;
    check(
        500,
        r#"{"__type":"KMSInternalException"}"#,
        ErrorKind::Transient,
        Some("KMSInternalException"),
    )
    .await;
    check(503, "", ErrorKind::Transient, None).await;
    check(
        400,
        r#"{"__type":"AccessDeniedException","message":"no"}"#,
        ErrorKind::Permanent,
        Some("AccessDeniedException"),
    )
    .await;
    check(
        400,
        r#"{"__type":"LimitExceededException"}"#,
        ErrorKind::Transient,
        Some("LimitExceededException"),
    )
    .await;
    check(
        400,
        r#"{"__type":"ValidationException"}"#,
        ErrorKind::Permanent,
        Some("ValidationException"),
    )
    .await;
    // DescribeKey's NotFound means "create it"; CreateKey then gets NotFound too and reports it.
    check(400, r#"{"__type":"NotFoundException"}"#, ErrorKind::NotFound, Some("NotFoundException"))
        .await;
}

#[tokio::test]
async fn unreachable_endpoint_is_transient() {
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let cloud = cloud_at(&closed, 1).await;
    let e = cloud.ensure_kms_key(&cluster("eu-west-1"), None).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Transient, "{e}");
    assert_eq!(e.code(), Some("Dispatch"));
}
