//! In-memory capture of everything the application logs, so tests can prove that secrets never
//! reach a log line. One subscriber per process (nextest runs each test in its own process, so
//! the buffer holds exactly one test's logs there; under `cargo test` it holds all of them, which
//! only makes the secrecy checks stricter).

use std::io::Write;
use std::sync::{Mutex, MutexGuard, OnceLock};

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::EnvFilter;

static BUFFER: OnceLock<Mutex<Vec<u8>>> = OnceLock::new();

fn buffer() -> MutexGuard<'static, Vec<u8>> {
    // A panicking test thread may poison the lock; the bytes are still good.
    BUFFER.get_or_init(|| Mutex::new(Vec::new())).lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Clone, Copy)]
struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        buffer().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;

    fn make_writer(&'a self) -> Self::Writer {
        Capture
    }
}

/// Installs the capturing subscriber once per process. DEBUG for everything the server runs;
/// the test's own HTTP client (reqwest and hyper-util's client half) is silenced because its
/// lines describe what the test sent, not what the application logged.
pub fn init() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let filter = EnvFilter::new("debug,reqwest=off,hyper_util::client=off");
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(Capture)
            .with_ansi(false)
            .try_init();
    });
}

/// Everything logged so far in this process.
pub fn captured() -> String {
    String::from_utf8_lossy(&buffer()).into_owned()
}
