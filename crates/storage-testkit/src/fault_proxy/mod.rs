//! A fault-injecting HTTP/1.1 proxy, put between an adapter and its
//! backend (Azurite, the Vercel emulator) to prove the adapter survives
//! resets, error statuses, stalls and re-framed responses.
//!
//! [`FaultProxy::start`] listens on a free loopback port and relays each
//! client connection over its own connection to the upstream. Requests and
//! responses go across byte for byte (heads as received, the `Host` header
//! included; bodies streamed in pieces of at most 64 KiB, never held
//! whole), keep-alive and `100 Continue` work, and only what a [`Fault`]
//! requires is changed. Upgrades (`101`) and `CONNECT` are not supported.
//!
//! Faults come from a [`FaultPlan`]: random ones at given rates from a
//! seeded generator, so one seed replays one sequence of faults for a
//! client that sends the same requests in the same order, and scripted
//! [`Rule`]s that force exact cases ("the second block upload is reset
//! after 100 bytes"). Requests can be exempted (setup), faults paused, and
//! the plan swapped while the proxy runs. Every request is recorded
//! ([`RequestRecord`]) with the fault applied, whether it was forwarded and
//! the status relayed, so a test can assert that a create was sent exactly
//! once or that no non-idempotent request was replayed.
//!
//! Dropping the proxy closes its listener and every connection it holds.
//!
//! ```no_run
//! use storage_testkit::fault_proxy::{Fault, FaultPlan, FaultProxy, Rule};
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! let azurite: std::net::SocketAddr = "127.0.0.1:10000".parse().expect("address");
//! let plan = FaultPlan::seeded(42)
//!     .with_rate(Fault::Status { code: 503, retry_after: Some(1) }, 0.1)
//!     .with_rate(Fault::ResetMidResponse { after: None }, 0.1)
//!     .with_rule(Rule::new(Fault::ResetBeforeResponse).method("PUT").nth(1))
//!     .exempt(|req| req.target.contains("restype=container"));
//! let proxy = FaultProxy::start(azurite, plan).await?;
//! let blob_endpoint = format!("{}/devstoreaccount1", proxy.url());
//! // … point the adapter at `blob_endpoint` and run the operations …
//! # let _ = blob_endpoint;
//! let creates = proxy.count(|r| r.head.method == "PUT" && r.forwarded);
//! # let _ = creates;
//! # Ok(()) }
//! ```

mod conn;
mod plan;
mod record;
mod wire;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

pub use plan::{Fault, FaultPlan, Rule};
pub use record::{RequestHead, RequestRecord};

/// A running proxy; see the [module docs](self).
#[derive(Debug)]
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1:0` that relays to `upstream` under
    /// `plan`. It runs on the calling tokio runtime.
    ///
    /// Fails when `upstream` is not a loopback address (the proxy is for
    /// tests on this machine) or when no port can be bound.
    pub async fn start(upstream: SocketAddr, plan: FaultPlan) -> io::Result<FaultProxy> {
        if !upstream.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the fault proxy only relays to loopback, not to {upstream}"),
            ));
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("fault proxy cannot bind a loopback port: {e}"),
            )
        })?;
        let addr = listener.local_addr()?;
        let (released, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            upstream,
            state: Mutex::new(State::new(plan)),
            released,
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(FaultProxy {
            addr,
            shared,
            accept,
        })
    }

    /// The address the proxy listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The proxy's base URL, `http://127.0.0.1:PORT` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The upstream it relays to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Replaces the plan for requests that arrive from now on: rule counts
    /// restart and the generator is reseeded from the new plan; records and
    /// a [`pause`](Self::pause) are kept. Requests hung by [`Fault::Hang`]
    /// are released (their connections closed).
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut state = self.shared.lock();
        *state = State {
            records: std::mem::take(&mut state.records),
            next_seq: state.next_seq,
            paused: state.paused,
            ..State::new(plan)
        };
        self.shared
            .released
            .send_modify(|generation| *generation += 1);
    }

    /// Stops applying faults (requests are still relayed and recorded, and
    /// rules do not count them); hung requests are released.
    pub fn pause(&self) {
        self.shared.lock().paused = true;
        self.shared
            .released
            .send_modify(|generation| *generation += 1);
    }

    /// Applies faults again after [`pause`](Self::pause).
    pub fn resume(&self) {
        self.shared.lock().paused = false;
    }

    /// Every request recorded so far, in order of arrival.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().records.clone()
    }

    /// How many recorded requests satisfy `predicate`.
    pub fn count(&self, predicate: impl Fn(&RequestRecord) -> bool) -> usize {
        self.shared
            .lock()
            .records
            .iter()
            .filter(|r| predicate(r))
            .count()
    }

    /// Forgets the records so far (a request still in flight is no longer
    /// updated).
    pub fn clear_records(&self) {
        self.shared.lock().records.clear();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // The connection tasks live in the accept task's `JoinSet`, so
        // aborting it drops the listener and aborts them all.
        self.accept.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    let mut next_id = 0;
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    connections.spawn(conn::serve(stream, next_id, Arc::clone(&shared)));
                    next_id += 1;
                }
                // Out of descriptors or similar: wait for connections to
                // finish rather than spin on the error.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// State shared by the proxy handle and its connection tasks.
#[derive(Debug)]
struct Shared {
    upstream: SocketAddr,
    state: Mutex<State>,
    /// Bumped whenever hung requests should give up.
    released: watch::Sender<u64>,
}

#[derive(Debug)]
struct State {
    plan: FaultPlan,
    rng: fastrand::Rng,
    /// Per rule, how many requests it has matched.
    seen: Vec<u64>,
    paused: bool,
    records: Vec<RequestRecord>,
    next_seq: u64,
}

impl State {
    fn new(plan: FaultPlan) -> State {
        State {
            rng: fastrand::Rng::with_seed(plan.seed()),
            seen: vec![0; plan.rule_count()],
            plan,
            paused: false,
            records: Vec::new(),
            next_seq: 0,
        }
    }
}

/// A request let in: its record number, its fault, and what ends a hang.
struct Admitted {
    seq: u64,
    fault: Option<Fault>,
    release: watch::Receiver<u64>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panicking test thread leaves the records as they were, which
        // is still worth reading.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Chooses a request's fault and records it.
    fn admit(&self, connection: u64, request: &wire::RequestInfo) -> Admitted {
        let head = RequestHead::new(
            request.method.clone(),
            request.target.clone(),
            &request.headers,
        );
        let mut state = self.lock();
        let state = &mut *state;
        let fault = if state.paused {
            None
        } else {
            state.plan.choose(&head, &mut state.rng, &mut state.seen)
        };
        let seq = state.next_seq;
        state.next_seq += 1;
        state.records.push(RequestRecord {
            seq,
            connection,
            head,
            fault: fault.clone(),
            forwarded: false,
            request_body_bytes: 0,
            status: None,
            response_body_bytes: 0,
            error: None,
        });
        // Subscribing under the lock means a release that follows this
        // decision is never missed.
        Admitted {
            seq,
            fault,
            release: self.released.subscribe(),
        }
    }

    fn update(&self, seq: u64, change: impl FnOnce(&mut RequestRecord)) {
        let mut state = self.lock();
        if let Ok(i) = state.records.binary_search_by_key(&seq, |r| r.seq) {
            change(&mut state.records[i]);
        }
    }

    /// A number below `n` (0 when `n` is 0) from the plan's generator.
    fn random_below(&self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.lock().rng.u64(0..n)
        }
    }
}
