//! A real mTLS server on loopback: rustls, TLS 1.2/1.3, client certificates required and
//! verified against a CA file (webpki, wall-clock validity). Each accepted client gets the line
//! `stage4 mTLS ok` and a close_notify; refused clients get the TLS alert rustls chooses
//! (`certificate_expired`, `unknown_ca`, `certificate_required`, ...).
//!
//! Tests and scenarios use it to prove the probe and the certificates work for real.

use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, ServerConnection};

use super::{load_certs, load_key, provider};

/// The line sent to an accepted client.
pub const GREETING: &[u8] = b"stage4 mTLS ok\n";

/// What the server saw, for assertions.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ServerLog {
    /// Handshakes completed (client certificate accepted).
    pub accepted: usize,
    /// Handshakes refused, with the rustls error.
    pub refused: Vec<String>,
}

/// A running server; stopped when dropped.
#[derive(Debug)]
pub struct MtlsServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<ServerLog>>,
    thread: Option<JoinHandle<()>>,
}

impl MtlsServer {
    /// Starts a server on `127.0.0.1:<free port>` presenting `cert_chain` (PEM, leaf first)
    /// with `key`, requiring client certificates issued by the CA in `client_ca`.
    pub fn start(cert_chain: &Path, key: &Path, client_ca: &Path) -> Result<MtlsServer> {
        let mut roots = RootCertStore::empty();
        for ca in load_certs(client_ca)? {
            roots
                .add(ca)
                .with_context(|| format!("{}: not a usable CA certificate", client_ca.display()))?;
        }
        let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .context("cannot build the client certificate verifier")?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .context("TLS protocol versions")?
            .with_client_cert_verifier(verifier)
            .with_single_cert(load_certs(cert_chain)?, load_key(key)?)
            .with_context(|| {
                format!(
                    "{} and {} do not form a usable server identity",
                    cert_chain.display(),
                    key.display()
                )
            })?;
        let config = Arc::new(config);
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot bind 127.0.0.1")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(ServerLog::default()));
        let thread = {
            let (stop, log) = (stop.clone(), log.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let outcome = serve_one(&config, stream);
                    let mut log = log.lock().expect("server log lock");
                    match outcome {
                        Ok(()) => log.accepted += 1,
                        Err(e) => log.refused.push(e),
                    }
                }
            })
        };
        Ok(MtlsServer {
            addr,
            stop,
            log,
            thread: Some(thread),
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server saw so far.
    pub fn log(&self) -> ServerLog {
        self.log.lock().expect("server log lock").clone()
    }

    /// Waits until `count` connections have been judged (accepted or refused), or `timeout`
    /// passed, and returns the log. The client may learn the verdict before the server thread
    /// has recorded it, so tests wait here instead of reading the log at once.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> ServerLog {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let log = self.log();
            if log.accepted + log.refused.len() >= count || std::time::Instant::now() >= deadline {
                return log;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for MtlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve_one(config: &Arc<ServerConfig>, mut sock: TcpStream) -> Result<(), String> {
    let timeout = Some(Duration::from_secs(5));
    sock.set_read_timeout(timeout).map_err(|e| e.to_string())?;
    sock.set_write_timeout(timeout).map_err(|e| e.to_string())?;
    let mut conn = ServerConnection::new(config.clone()).map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        if let Err(e) = conn.complete_io(&mut sock) {
            // Send the alert rustls queued (if any) so the client learns why.
            let _ = conn.write_tls(&mut sock);
            return Err(e.to_string());
        }
    }
    conn.writer()
        .write_all(GREETING)
        .map_err(|e| e.to_string())?;
    conn.send_close_notify();
    while conn.wants_write() {
        if conn.write_tls(&mut sock).map_err(|e| e.to_string())? == 0 {
            break;
        }
    }
    Ok(())
}
