//! The local rows: our `LocalStore` against plain `std::fs` (the
//! ceiling), object_store's `LocalFileSystem` and OpenDAL's `fs` service,
//! first with fsync on for all, then off for all, then one listing.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::ObjectStore;
use storage::local::{LocalConfig, LocalStore, PATH_VAR};
use storage::{BlobStoreExt, ListOptions};

use crate::measure::{
    self, check_listed, put_then_get, Contender, Fallible, Op, PutGet, Role, Row, Transfer,
};

/// The variable that turns our store's fsyncs on or off (`always` or
/// `never`). A storage-local that does not know it yet ignores it.
pub const FSYNC_VAR: &str = "LOCAL_STORAGE_FSYNC";

/// The folder listed by the list row, inside the fixture store.
const LIST_PREFIX: &str = "list/";

/// Blob `i` of a round.
fn key(i: usize) -> String {
    format!("bench/{i:05}.bin")
}

/// Our store at `root`, configured the way an app would from its
/// environment, with fsync on or off.
fn open_ours(root: &Path, fsync: bool) -> Fallible<LocalStore> {
    let root = root.to_string_lossy().into_owned();
    let fsync = if fsync { "always" } else { "never" };
    let config = LocalConfig::from_lookup(|var| match var {
        PATH_VAR => Some(root.clone()),
        FSYNC_VAR => Some(fsync.to_string()),
        _ => None,
    })
    .map_err(|e| format!("ours: configuring a store at {root}: {e}"))?;
    LocalStore::new(config).map_err(|e| format!("ours: opening a store at {root}: {e}"))
}

async fn remove(dir: PathBuf) -> Fallible<()> {
    tokio::fs::remove_dir_all(&dir)
        .await
        .map_err(|e| format!("cannot remove {}: {e}", dir.display()))
}

fn blocking_error(what: &str) -> impl Fn(tokio::task::JoinError) -> String + '_ {
    move |e| format!("{what}: the blocking task died: {e}")
}

/// `LocalStore` through the `BlobStore` API.
struct Ours {
    scratch: PathBuf,
    fsync: bool,
    fixture: Arc<LocalStore>,
}

impl Contender for Ours {
    fn label(&self) -> String {
        "ours (LocalStore)".into()
    }
    fn role(&self) -> Role {
        Role::Ours
    }
    fn caveat(&self, op: Op, _size: usize) -> Option<String> {
        match op {
            Op::Put if !self.fsync => {
                Some(format!("{FSYNC_VAR}=never: temp file + rename, no fsync"))
            }
            Op::Put => Some("fsyncs the file (properties in its xattr) and folder".into()),
            _ => None,
        }
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let root = self.scratch.join(&t.tag);
            let store = Arc::new(open_ours(&root, self.fsync)?);
            let timing = put_then_get(
                store,
                &t,
                |s, i, payload| {
                    Box::pin(async move {
                        let k = key(i);
                        s.put_bytes(&k, payload)
                            .await
                            .map(drop)
                            .map_err(|e| format!("ours: put {k}: {e}"))
                    })
                },
                |s, i| {
                    Box::pin(async move {
                        let k = key(i);
                        s.get_bytes(&k)
                            .await
                            .map(|b| b.len())
                            .map_err(|e| format!("ours: get {k}: {e}"))
                    })
                },
            )
            .await?;
            remove(root).await?;
            Ok(timing)
        })
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let start = Instant::now();
            let n = self
                .fixture
                .list_all(ListOptions::new().prefix(LIST_PREFIX))
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await
                .map_err(|e| format!("ours: list {LIST_PREFIX}: {e}"))?;
            let took = start.elapsed();
            check_listed("ours", n, expected)?;
            Ok(took)
        })
    }
}

/// Plain `std::fs` on the blocking pool: write a temporary file and rename
/// it (with fsync of the file and of its folder when fsync is on), read the
/// file, read the folder and stat each entry.
struct Ceiling {
    scratch: PathBuf,
    fsync: bool,
    listed: PathBuf,
}

/// The atomic write an app would do by hand.
fn write_atomically(dir: &Path, name: &str, bytes: &[u8], fsync: bool) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = File::create(&tmp)?;
    file.write_all(bytes)?;
    if fsync {
        file.sync_all()?;
    }
    drop(file);
    std::fs::rename(&tmp, dir.join(name))?;
    if fsync {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl Contender for Ceiling {
    fn label(&self) -> String {
        "ceiling (std::fs in spawn_blocking)".into()
    }
    fn role(&self) -> Role {
        Role::Ceiling
    }
    fn caveat(&self, op: Op, _size: usize) -> Option<String> {
        match op {
            Op::Put if self.fsync => Some("fsyncs file and folder; no sidecar".into()),
            Op::Put => Some("temp file + rename, no fsync; no sidecar".into()),
            Op::List => Some("unsorted; readdir + stat only".into()),
            _ => None,
        }
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let root = self.scratch.join(&t.tag);
            let dir = Arc::new(root.join("bench"));
            std::fs::create_dir_all(dir.as_path())
                .map_err(|e| format!("ceiling: cannot create {}: {e}", dir.display()))?;
            let fsync = self.fsync;
            let timing = put_then_get(
                dir,
                &t,
                move |dir, i, payload| {
                    Box::pin(async move {
                        let name = format!("{i:05}.bin");
                        tokio::task::spawn_blocking(move || {
                            write_atomically(&dir, &name, &payload, fsync)
                                .map_err(|e| format!("ceiling: write {name}: {e}"))
                        })
                        .await
                        .map_err(blocking_error("ceiling: write"))?
                    })
                },
                |dir, i| {
                    Box::pin(async move {
                        let path = dir.join(format!("{i:05}.bin"));
                        // The bytes come back to the caller, as every get's
                        // do. Dropped on the blocking thread instead, glibc
                        // would hand the same warm pages to the next read,
                        // which no get that returns its bytes can count on
                        // (1 MiB reads: 2 page faults each against 60).
                        let bytes = tokio::task::spawn_blocking(move || {
                            std::fs::read(&path)
                                .map_err(|e| format!("ceiling: read {}: {e}", path.display()))
                        })
                        .await
                        .map_err(blocking_error("ceiling: read"))??;
                        Ok(bytes.len())
                    })
                },
            )
            .await?;
            remove(root).await?;
            Ok(timing)
        })
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let dir = self.listed.clone();
            let start = Instant::now();
            let n = tokio::task::spawn_blocking(move || {
                let failed = |e: std::io::Error| format!("ceiling: list {}: {e}", dir.display());
                let mut n = 0;
                for entry in std::fs::read_dir(&dir).map_err(failed)? {
                    let entry = entry.map_err(failed)?;
                    let meta = entry.metadata().map_err(failed)?;
                    if meta.is_file() {
                        let modified = meta.modified().map_err(failed)?;
                        std::hint::black_box((entry.file_name(), meta.len(), modified));
                        n += 1;
                    }
                }
                Ok::<_, String>(n)
            })
            .await
            .map_err(blocking_error("ceiling: list"))??;
            let took = start.elapsed();
            check_listed("ceiling", n, expected)?;
            Ok(took)
        })
    }
}

/// `object_store::local::LocalFileSystem` used directly.
struct ObjectStoreFs {
    scratch: PathBuf,
    fsync: bool,
    fixture_objects: PathBuf,
}

fn os_path(key: &str) -> object_store::path::Path {
    object_store::path::Path::from(key)
}

impl Contender for ObjectStoreFs {
    fn label(&self) -> String {
        "object_store LocalFileSystem".into()
    }
    fn role(&self) -> Role {
        Role::ObjectStore
    }
    fn caveat(&self, op: Op, _size: usize) -> Option<String> {
        match op {
            Op::Put if self.fsync => {
                Some("NO fsync: object_store's LocalFileSystem has no fsync option".into())
            }
            Op::List => Some("unsorted".into()),
            _ => None,
        }
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let root = self.scratch.join(&t.tag);
            std::fs::create_dir_all(&root)
                .map_err(|e| format!("object_store: cannot create {}: {e}", root.display()))?;
            let fs = LocalFileSystem::new_with_prefix(&root)
                .map_err(|e| format!("object_store: LocalFileSystem at {}: {e}", root.display()))?;
            let timing = put_then_get(
                Arc::new(fs),
                &t,
                |fs, i, payload| {
                    Box::pin(async move {
                        let k = key(i);
                        fs.put(&os_path(&k), payload.into())
                            .await
                            .map(drop)
                            .map_err(|e| format!("object_store: put {k}: {e}"))
                    })
                },
                |fs, i| {
                    Box::pin(async move {
                        let k = key(i);
                        let got = fs.get(&os_path(&k)).await;
                        let bytes = match got {
                            Ok(result) => result.bytes().await,
                            Err(e) => Err(e),
                        };
                        bytes
                            .map(|b| b.len())
                            .map_err(|e| format!("object_store: get {k}: {e}"))
                    })
                },
            )
            .await?;
            remove(root).await?;
            Ok(timing)
        })
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let fs = LocalFileSystem::new_with_prefix(&self.fixture_objects)
                .map_err(|e| format!("object_store: LocalFileSystem: {e}"))?;
            let prefix = os_path(LIST_PREFIX.trim_end_matches('/'));
            let start = Instant::now();
            let n = fs
                .list(Some(&prefix))
                .try_fold(0usize, |n, _| async move { Ok(n + 1) })
                .await
                .map_err(|e| format!("object_store: list {LIST_PREFIX}: {e}"))?;
            let took = start.elapsed();
            check_listed("object_store", n, expected)?;
            Ok(took)
        })
    }
}

/// OpenDAL's `fs` service, with an atomic-write folder so that its writes
/// are all-or-nothing like the others'.
struct OpenDalFs {
    scratch: PathBuf,
    fsync: bool,
    fixture_objects: PathBuf,
}

fn opendal_fs(root: &Path) -> Fallible<opendal::Operator> {
    let tmp = root.join(".opendal-tmp");
    std::fs::create_dir_all(&tmp)
        .map_err(|e| format!("OpenDAL: cannot create {}: {e}", tmp.display()))?;
    let builder = opendal::services::Fs::default()
        .root(&root.to_string_lossy())
        .atomic_write_dir(&tmp.to_string_lossy());
    opendal::Operator::new(builder)
        .map_err(|e| format!("OpenDAL: fs operator at {}: {e}", root.display()))
}

impl Contender for OpenDalFs {
    fn label(&self) -> String {
        "OpenDAL fs".into()
    }
    fn role(&self) -> Role {
        Role::OpenDal
    }
    fn caveat(&self, op: Op, _size: usize) -> Option<String> {
        match op {
            Op::Put if self.fsync => {
                Some("fsyncs the file but not the folder (OpenDAL has no option)".into())
            }
            Op::Put => Some(
                "STILL fsyncs every file: OpenDAL's fs writer always does, with no option".into(),
            ),
            Op::List => Some("unsorted".into()),
            _ => None,
        }
    }
    fn put_get(&self, t: Transfer) -> BoxFuture<'_, Fallible<PutGet>> {
        Box::pin(async move {
            let root = self.scratch.join(&t.tag);
            let op = opendal_fs(&root)?;
            let timing = put_then_get(
                Arc::new(op),
                &t,
                |op, i, payload| {
                    Box::pin(async move {
                        let k = key(i);
                        op.write(&k, payload)
                            .await
                            .map(drop)
                            .map_err(|e| format!("OpenDAL: write {k}: {e}"))
                    })
                },
                |op, i| {
                    Box::pin(async move {
                        let k = key(i);
                        // `read` may hand back its chunks as they came;
                        // ours and object_store's give one buffer, so
                        // OpenDAL's is joined into one too.
                        op.read(&k)
                            .await
                            .map(|b| b.to_bytes().len())
                            .map_err(|e| format!("OpenDAL: read {k}: {e}"))
                    })
                },
            )
            .await?;
            remove(root).await?;
            Ok(timing)
        })
    }
    fn list(&self, expected: usize) -> BoxFuture<'_, Fallible<Duration>> {
        Box::pin(async move {
            let op = opendal::Operator::new(
                opendal::services::Fs::default().root(&self.fixture_objects.to_string_lossy()),
            )
            .map_err(|e| format!("OpenDAL: fs operator: {e}"))?;
            let start = Instant::now();
            let entries = op
                .list(LIST_PREFIX)
                .await
                .map_err(|e| format!("OpenDAL: list {LIST_PREFIX}: {e}"))?;
            // The listing names the folder itself first.
            let n = entries.iter().filter(|e| e.metadata().is_file()).count();
            let took = start.elapsed();
            check_listed("OpenDAL", n, expected)?;
            Ok(took)
        })
    }
}

/// Runs every local row and returns them in report order.
pub async fn run(rounds: usize, quick: bool) -> Fallible<(Vec<Row>, Vec<String>)> {
    let scratch = tempfile::Builder::new()
        .prefix("compare-local-")
        .tempdir()
        .map_err(|e| format!("cannot create a scratch folder: {e}"))?;
    let notes = vec![
        format!(
            "local rows run in {} (the machine's disk); each round and contender gets a fresh \
             folder, removed after it",
            scratch.path().display()
        ),
        "a write without fsync leaves its data to the kernel's writeback, which can land in a \
         later contender's timing (an fsync commits the whole journal); the rotation spreads \
         that over all of them"
            .to_string(),
        "the listing fixture is written once by our store; the others list the same files in \
         its objects/ folder, while ours also reads each blob's properties and sorts by key"
            .to_string(),
    ];
    let fixture_root = scratch.path().join("list-fixture");
    let fixture = Arc::new(open_ours(&fixture_root, false)?);
    let fixture_objects = fixture.root().join("objects");
    let keys = measure::list_keys(quick);
    let mut rows = Vec::new();
    for fsync in [true, false] {
        let runs = scratch.path().join(if fsync { "fsync" } else { "nofsync" });
        std::fs::create_dir_all(&runs)
            .map_err(|e| format!("cannot create {}: {e}", runs.display()))?;
        let contenders: Vec<Arc<dyn Contender>> = vec![
            Arc::new(Ours {
                scratch: runs.clone(),
                fsync,
                fixture: fixture.clone(),
            }),
            Arc::new(Ceiling {
                scratch: runs.clone(),
                fsync,
                listed: fixture_objects.join(LIST_PREFIX),
            }),
            Arc::new(ObjectStoreFs {
                scratch: runs.clone(),
                fsync,
                fixture_objects: fixture_objects.clone(),
            }),
            Arc::new(OpenDalFs {
                scratch: runs.clone(),
                fsync,
                fixture_objects: fixture_objects.clone(),
            }),
        ];
        let group = if fsync {
            "local fsync on:"
        } else {
            "local fsync off:"
        };
        for shape in measure::shapes(quick) {
            let (put, get) = measure::put_get_rows(group, &contenders, shape, rounds).await;
            rows.push(put);
            rows.push(get);
        }
        if !fsync {
            eprintln!("  filling the local listing fixture with {keys} blobs");
            // Written through our store; the other contenders list the same
            // files in its `objects/` folder.
            measure::fill_listing(fixture.clone(), LIST_PREFIX, keys, "the listing fixture")
                .await?;
            rows.push(measure::list_row("local:", &contenders, keys, rounds).await);
        }
    }
    Ok((rows, notes))
}
