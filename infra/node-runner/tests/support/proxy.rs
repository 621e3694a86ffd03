//! A TCP proxy in front of moto that can be switched off: while off it drops every open
//! connection and every new one, like an EC2 endpoint that stopped answering.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub struct Proxy {
    pub url: String,
    up: watch::Sender<bool>,
    refused: Arc<AtomicUsize>,
}

impl Proxy {
    pub async fn start(target: &str) -> Proxy {
        let target = target.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (up, watch_up) = watch::channel(true);
        let refused = Arc::new(AtomicUsize::new(0));
        let counter = refused.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let mut up = watch_up.clone();
                if !*up.borrow() {
                    counter.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let target = target.clone();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = up.wait_for(|on| !on) => {}
                    }
                });
            }
        });
        Proxy { url, up, refused }
    }

    /// Connections dropped while switched off: each is one failed attempt of the client.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::Relaxed)
    }

    pub fn set_up(&self, on: bool) {
        self.up.send_replace(on);
    }
}
