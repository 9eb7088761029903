//! How gil-lab runs a local HTTP server, once for all of them (`serve`,
//! `bench --serve`, `llm-serve` and the LLM endpoint `bench` starts): bind
//! the address first, with an error that says which flag to change; give
//! the server a tokio runtime of its own; then serve an axum [`Router`]
//! either in the foreground until the process is stopped, or in a
//! background thread that stops when its [`BackgroundServer`] is dropped.
//!
//! It depends on nothing else in the crate.

use std::future::IntoFuture;
use std::net::{SocketAddr, TcpListener};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::Router;
use tokio::sync::oneshot;

/// How long a stopping server's runtime waits for its remaining tasks
/// (open connections) before dropping them.
const SHUTDOWN_WAIT: Duration = Duration::from_millis(200);

/// What a server is called and which threads run it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServerKind {
    /// What messages call it, e.g. "the LLM endpoint".
    pub name: &'static str,
    /// The name of its threads (the runtime's and the background one).
    pub thread_name: &'static str,
    /// Worker threads of its runtime (None: one per core; at least 1).
    pub workers: Option<usize>,
}

impl ServerKind {
    fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        if let Some(workers) = self.workers {
            builder.worker_threads(workers.max(1));
        }
        builder
            .thread_name(self.thread_name)
            .enable_all()
            .build()
            .with_context(|| format!("cannot start {}'s runtime", self.name))
    }
}

/// A listening socket, bound but not served yet: binding first makes an
/// unusable address an error at once, and tells the port picked for port 0.
#[derive(Debug)]
pub struct BoundAddress {
    listener: TcpListener,
    addr: SocketAddr,
}

impl BoundAddress {
    /// Binds `host:port` (port 0: a free one). `fix` tells the user what to
    /// change when it fails, e.g. "choose another --port"; the error reads
    /// "cannot listen on HOST:PORT: FIX" followed by the system's reason.
    pub fn bind(host: &str, port: u16, fix: &str) -> Result<Self> {
        let listener = TcpListener::bind((host, port))
            .with_context(|| format!("cannot listen on {host}:{port}: {fix}"))?;
        listener
            .set_nonblocking(true)
            .context("cannot make the listener non-blocking")?;
        let addr = listener
            .local_addr()
            .context("cannot read the bound address")?;
        Ok(Self { listener, addr })
    }

    /// The address bound (with the port picked when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves `app` on this thread until the process is stopped; `ready`
    /// is called with the address once the server is about to accept.
    pub fn serve_forever(
        self,
        app: Router,
        kind: &ServerKind,
        ready: impl FnOnce(SocketAddr),
    ) -> Result<()> {
        let runtime = kind.runtime()?;
        ready(self.addr);
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(self.listener)
                .context("cannot hand the listener to the runtime")?;
            axum::serve(listener, app)
                .await
                .with_context(|| format!("{} stopped", kind.name))
        })
    }

    /// Serves `app` in a background thread, which stops when the returned
    /// handle is dropped.
    pub fn spawn(self, app: Router, kind: &ServerKind) -> Result<BackgroundServer> {
        let runtime = kind.runtime()?;
        let (stop, stopped) = oneshot::channel::<()>();
        let name = kind.name;
        let listener = self.listener;
        let thread = std::thread::Builder::new()
            .name(kind.thread_name.into())
            .spawn(move || {
                let served = runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    // Stopping drops the listener at once and does not wait
                    // for the connections to end: event streams never end
                    // by themselves, nor do idle keep-alive connections, and
                    // either would keep the drop waiting. What is left of
                    // them goes with the runtime, below.
                    tokio::select! {
                        served = axum::serve(listener, app).into_future() => served,
                        _ = stopped => Ok(()),
                    }
                });
                if let Err(err) = served {
                    eprintln!("warning: {name} stopped: {err}");
                }
                runtime.shutdown_timeout(SHUTDOWN_WAIT);
            })
            .with_context(|| format!("cannot start {name}'s thread"))?;
        Ok(BackgroundServer {
            addr: self.addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// A server running in a background thread of this process; dropping it
/// stops the server (the address is free again once the drop returns).
#[derive(Debug)]
pub struct BackgroundServer {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl BackgroundServer {
    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for BackgroundServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            // An error means the server has already stopped.
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A minimal HTTP/1.1 client for the tests of the servers built on this
/// module.
#[cfg(test)]
pub(crate) mod test_client {
    use std::io::{Read, Write};
    use std::net::SocketAddr;
    use std::time::Duration;

    /// `GET target` on `addr`; the whole response, headers included.
    pub(crate) fn get(addr: SocketAddr, target: &str) -> String {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        write!(
            stream,
            "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;

    const KIND: ServerKind = ServerKind {
        name: "the test server",
        thread_name: "gil-lab-test",
        workers: Some(1),
    };

    #[test]
    fn a_busy_port_is_an_error_saying_what_to_change() {
        let taken = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = BoundAddress::bind("127.0.0.1", port, "choose another --port").unwrap_err();
        let message = format!("{err:#}");
        assert!(
            message.contains(&format!(
                "cannot listen on 127.0.0.1:{port}: choose another --port"
            )),
            "{message}"
        );
    }

    #[test]
    fn port_zero_binds_a_free_port_and_the_server_stops_when_dropped() {
        let bound = BoundAddress::bind("127.0.0.1", 0, "choose another --port").unwrap();
        assert_ne!(bound.addr().port(), 0);
        let app = Router::new().route("/", get(|| async { "hello" }));
        let server = bound.spawn(app, &KIND).unwrap();
        let addr = server.addr();
        let response = test_client::get(addr, "/");
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.ends_with("hello"), "{response}");
        // An idle open connection must not keep the server from stopping.
        let _idle = std::net::TcpStream::connect(addr).unwrap();
        drop(server);
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "still listening"
        );
    }
}
