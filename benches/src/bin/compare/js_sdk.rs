//! The official `@vercel/blob` SDK as a contender: `benches/js/bench.mjs`
//! in one long-lived Node process, driven by JSON lines, timing its own
//! calls (so Node's start-up and the pipe are not counted).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use serde_json::{json, Value};
use storage::vercel::VercelStore;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};
use tokio::sync::Mutex;

use crate::measure::{check_listed, Contender, Fallible, Op, PutGet, Role, Timing, Transfer};
use crate::vercel::{clear, LIST_PREFIX};

/// How long one command may take before the SDK is declared stuck.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// The folder holding `package.json`, its lockfile and `bench.mjs`.
pub fn js_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// The running script and its pipes.
struct Session {
    _child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Session {
    /// Sends one command and returns its answer, or the script's error.
    async fn ask(&mut self, command: Value) -> Fallible<Value> {
        let mut line = command.to_string();
        line.push('\n');
        self.stdin
            .write_all(line.as_bytes())
            .await
            .map_err(|e| format!("JS SDK: cannot send a command to node: {e}"))?;
        let answer = tokio::time::timeout(COMMAND_TIMEOUT, self.stdout.next_line())
            .await
            .map_err(|_| format!("JS SDK: no answer within {COMMAND_TIMEOUT:?} to {command}"))?
            .map_err(|e| format!("JS SDK: reading node's answer: {e}"))?
            .ok_or_else(|| "JS SDK: node exited (see its stderr above)".to_string())?;
        let value: Value = serde_json::from_str(&answer)
            .map_err(|e| format!("JS SDK: unreadable answer {answer:?}: {e}"))?;
        match value.get("error") {
            Some(error) => Err(format!(
                "JS SDK: {}",
                error.as_str().unwrap_or(&error.to_string())
            )),
            None => Ok(value),
        }
    }
}

/// Milliseconds field `field` of `answer` as a duration.
fn millis(answer: &Value, field: &str) -> Fallible<Duration> {
    answer
        .get(field)
        .and_then(Value::as_f64)
        .map(|ms| Duration::from_secs_f64(ms / 1000.0))
        .ok_or_else(|| format!("JS SDK: the answer {answer} has no number `{field}`"))
}

/// The SDK contender. Its rounds' blobs are deleted through our store,
/// outside the timed part, as ours are.
pub struct JsSdk {
    session: Mutex<Session>,
    admin: Arc<VercelStore>,
    versions: String,
}

impl JsSdk {
    /// Installs the pinned SDK (`npm ci`, first use only) and starts the
    /// script against `api_url`. Fails with the reason when Node, npm or
    /// the registry is missing.
    pub async fn start(api_url: &str, token: &str, admin: Arc<VercelStore>) -> Fallible<JsSdk> {
        let dir = js_dir();
        let install_dir = dir.clone();
        tokio::task::spawn_blocking(move || storage_testkit::node::npm_ci(&install_dir))
            .await
            .map_err(|e| format!("installing the SDK: the task died: {e}"))??;
        let mut child = Command::new("node")
            .arg("bench.mjs")
            .current_dir(&dir)
            .env("VERCEL_BLOB_API_URL", api_url)
            .env("BLOB_READ_WRITE_TOKEN", token)
            // A version forced from outside would change what is measured.
            .env_remove("VERCEL_BLOB_API_VERSION_OVERRIDE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start `node bench.mjs` in {}: {e}", dir.display()))?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the node process has no stdin or stdout pipe".into());
        };
        let mut session = Session {
            _child: child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
        };
        let hello = session.ask(json!({ "op": "hello" })).await?;
        let field = |name: &str| {
            hello
                .get(name)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        let versions = format!("@vercel/blob {} on Node {}", field("sdk"), field("node"));
        Ok(JsSdk {
            session: Mutex::new(session),
            admin,
            versions,
        })
    }
}

impl Contender for JsSdk {
    fn label(&self) -> String {
        format!("JS SDK ({})", self.versions)
    }
    fn role(&self) -> Role {
        Role::JsSdk
    }
    fn caveat(&self, op: Op, _size: usize) -> Option<String> {
        (op == Op::List).then(|| "pages of 1000, like ours".into())
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let command = json!({
                "op": "put_get",
                "prefix": t.tag,
                "size": t.payload.len(),
                "count": t.count,
                "concurrency": t.concurrency,
            });
            let answer = self.session.lock().await.ask(command).await;
            clear(&self.admin, &t.tag).await?;
            let answer = answer?;
            let in_node = |wall| Timing { wall, cpu: None };
            Ok(PutGet {
                put: in_node(millis(&answer, "put_ms")?),
                get: in_node(millis(&answer, "get_ms")?),
            })
        })
    }
    fn runs_here(&self) -> bool {
        false
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let command = json!({ "op": "list", "prefix": LIST_PREFIX });
            let answer = self.session.lock().await.ask(command).await?;
            let listed = answer.get("listed").and_then(Value::as_u64).unwrap_or(0);
            check_listed("JS SDK", listed as usize, expected)?;
            millis(&answer, "list_ms")
        })
    }
}
