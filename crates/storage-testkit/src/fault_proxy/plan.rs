//! What the proxy does to which request: faults, their random rates, the
//! scripted rules that force exact cases, and the requests left alone.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::record::RequestHead;

/// One thing that can go wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Read the request (head and body), then reset the connection (RST)
    /// without forwarding it: nothing reaches the upstream.
    ResetBeforeResponse,
    /// Forward the head and `after` bytes of the body (as they appear on
    /// the wire), then reset both connections: the upstream sees a broken
    /// upload, the client an error. `None` picks a random count below the
    /// body's length (below 64 KiB for a chunked body). The cut always
    /// falls before the body's end; a request without a body gets only
    /// part of its head forwarded.
    ResetMidRequest {
        /// Body bytes forwarded before the reset.
        after: Option<u64>,
    },
    /// Forward the request, relay the response head and `after` bytes of
    /// its body (as they appear on the wire), then reset. `None` picks a
    /// random count below the body's length (below 64 KiB when it is not
    /// known). The cut always falls before the body's end; when the
    /// response has no body, the reset comes before its head, so the
    /// upstream has acted on a request whose answer the client never sees.
    ResetMidResponse {
        /// Body bytes relayed before the reset.
        after: Option<u64>,
    },
    /// Answer `code` without forwarding, with a short text body and a
    /// `Retry-After: <secs>` header when `retry_after` is set. The request
    /// body is read and dropped first so the client sees the answer.
    Status {
        /// The status code, 200 to 599.
        code: u16,
        /// Seconds for `Retry-After`.
        retry_after: Option<u64>,
    },
    /// Read the request, answer nothing for the duration, then close the
    /// connection (FIN) without forwarding.
    Stall(Duration),
    /// Read the request head and never answer, until the plan is replaced
    /// ([`FaultProxy::set_plan`](super::FaultProxy::set_plan)), faults are
    /// paused, or the proxy is dropped; then close the connection.
    Hang,
    /// Forward, but relay the response body with `Transfer-Encoding:
    /// chunked` and without `Content-Length` (a body-less response, such
    /// as one to `HEAD`, is relayed unchanged).
    Chunked,
}

impl Fault {
    /// [`Fault::Status`] without `Retry-After`.
    pub fn status(code: u16) -> Fault {
        Fault::Status {
            code,
            retry_after: None,
        }
    }

    fn check(&self) {
        if let Fault::Status { code, .. } = self {
            assert!(
                (200..=599).contains(code),
                "an injected status must be 200 to 599, not {code}"
            );
        }
    }
}

/// Which of the requests a [`Rule`] matches it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Selection {
    Every,
    Nth(u64),
    First(u64),
}

/// A scripted fault: applied to requests that match a method and a
/// substring of the path and query, every time or only the nth.
///
/// A rule counts the requests it matches among those faults may touch
/// (not exempt, faults not paused), from when its plan was installed.
///
/// ```
/// use storage_testkit::fault_proxy::{Fault, Rule};
/// // The second block upload is cut after 100 bytes.
/// let rule = Rule::new(Fault::ResetMidRequest { after: Some(100) })
///     .method("PUT")
///     .target_contains("comp=block")
///     .nth(2);
/// # let _ = rule;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    fault: Fault,
    method: Option<String>,
    target_contains: Option<String>,
    selection: Selection,
}

impl Rule {
    /// A rule applying `fault` to every request.
    ///
    /// # Panics
    ///
    /// When `fault` is a [`Fault::Status`] outside 200 to 599.
    pub fn new(fault: Fault) -> Rule {
        fault.check();
        Rule {
            fault,
            method: None,
            target_contains: None,
            selection: Selection::Every,
        }
    }

    /// Only requests with this method (exact, as HTTP methods are).
    pub fn method(mut self, method: &str) -> Rule {
        self.method = Some(method.to_string());
        self
    }

    /// Only requests whose path and query contain `needle`.
    pub fn target_contains(mut self, needle: &str) -> Rule {
        self.target_contains = Some(needle.to_string());
        self
    }

    /// Only the `n`th matching request (1-based).
    ///
    /// # Panics
    ///
    /// When `n` is 0.
    pub fn nth(mut self, n: u64) -> Rule {
        assert!(n > 0, "Rule::nth counts from 1");
        self.selection = Selection::Nth(n);
        self
    }

    /// Only the first `n` matching requests.
    pub fn first(mut self, n: u64) -> Rule {
        self.selection = Selection::First(n);
        self
    }

    fn matches(&self, head: &RequestHead) -> bool {
        self.method.as_deref().is_none_or(|m| m == head.method)
            && self
                .target_contains
                .as_deref()
                .is_none_or(|s| head.target.contains(s))
    }

    fn selects(&self, seen: u64) -> bool {
        match self.selection {
            Selection::Every => true,
            Selection::Nth(n) => seen == n,
            Selection::First(n) => seen <= n,
        }
    }
}

type Exemption = Arc<dyn Fn(&RequestHead) -> bool + Send + Sync>;

/// Which faults the proxy applies: random ones at given rates from a seeded
/// generator, scripted [`Rule`]s, and exemptions.
///
/// For each request faults may touch, the generator draws once (when any
/// rate is set), so a client that sends the same requests in the same
/// order meets the same faults for the same seed. A matching rule then
/// takes precedence over the draw; the first rule (in the order added)
/// that selects the request wins.
///
/// ```
/// use std::time::Duration;
/// use storage_testkit::fault_proxy::{Fault, FaultPlan, Rule};
/// let plan = FaultPlan::seeded(7)
///     .with_rate(Fault::status(503), 0.1)
///     .with_rate(Fault::ResetMidResponse { after: None }, 0.1)
///     .with_rule(Rule::new(Fault::Stall(Duration::from_secs(2))).method("DELETE").nth(1))
///     .exempt(|req| req.target.contains("restype=container"));
/// # let _ = plan;
/// ```
#[derive(Clone, Default)]
pub struct FaultPlan {
    seed: u64,
    rates: Vec<(Fault, f64)>,
    rules: Vec<Rule>,
    exemption: Option<Exemption>,
    hang_all: bool,
}

impl FaultPlan {
    /// A plan that faults nothing: the proxy only relays and records.
    pub fn none() -> FaultPlan {
        FaultPlan::default()
    }

    /// A plan without faults yet, whose random draws come from `seed`.
    pub fn seeded(seed: u64) -> FaultPlan {
        FaultPlan {
            seed,
            ..FaultPlan::default()
        }
    }

    /// A plan where every request faults may touch gets [`Fault::Hang`]:
    /// the proxy accepts connections and never answers, for deadline
    /// tests.
    pub fn hang_all() -> FaultPlan {
        FaultPlan {
            hang_all: true,
            ..FaultPlan::default()
        }
    }

    /// Applies `fault` to a request with this probability.
    ///
    /// # Panics
    ///
    /// When `probability` is not within 0 to 1, when the rates together
    /// exceed 1, or when `fault` is a [`Fault::Status`] outside 200 to 599.
    pub fn with_rate(mut self, fault: Fault, probability: f64) -> FaultPlan {
        fault.check();
        assert!(
            (0.0..=1.0).contains(&probability),
            "a fault rate is a probability, not {probability}"
        );
        self.rates.push((fault, probability));
        let total: f64 = self.rates.iter().map(|(_, p)| p).sum();
        assert!(total <= 1.0, "fault rates add up to {total}, above 1");
        self
    }

    /// Adds a scripted rule.
    pub fn with_rule(mut self, rule: Rule) -> FaultPlan {
        self.rules.push(rule);
        self
    }

    /// Never faults a request for which `predicate` holds (setup such as
    /// creating a container). Exempt requests are still relayed and
    /// recorded, and rules do not count them.
    pub fn exempt(
        mut self,
        predicate: impl Fn(&RequestHead) -> bool + Send + Sync + 'static,
    ) -> FaultPlan {
        self.exemption = Some(Arc::new(predicate));
        self
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    pub(crate) fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The fault for one request; `seen` holds each rule's match count.
    pub(crate) fn choose(
        &self,
        head: &RequestHead,
        rng: &mut fastrand::Rng,
        seen: &mut [u64],
    ) -> Option<Fault> {
        if self.exemption.as_ref().is_some_and(|exempt| exempt(head)) {
            return None;
        }
        if self.hang_all {
            return Some(Fault::Hang);
        }
        let drawn = if self.rates.is_empty() {
            None
        } else {
            let x = rng.f64();
            let mut upper = 0.0;
            self.rates.iter().find_map(|(fault, p)| {
                upper += p;
                (x < upper).then(|| fault.clone())
            })
        };
        let mut scripted = None;
        for (rule, count) in self.rules.iter().zip(seen.iter_mut()) {
            if rule.matches(head) {
                *count += 1;
                if scripted.is_none() && rule.selects(*count) {
                    scripted = Some(rule.fault.clone());
                }
            }
        }
        scripted.or(drawn)
    }
}

impl fmt::Debug for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultPlan")
            .field("seed", &self.seed)
            .field("rates", &self.rates)
            .field("rules", &self.rules)
            .field("exempt", &self.exemption.is_some())
            .field("hang_all", &self.hang_all)
            .finish()
    }
}
