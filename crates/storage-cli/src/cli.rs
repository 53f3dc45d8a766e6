//! The command line: verbs, their arguments and their `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const ABOUT: &str = "Put, get, list, copy, sync, sign and serve blobs on Azure Blob, Vercel Blob, \
local disk or memory.";

const LONG_ABOUT: &str = "Put, get, list, copy, sync, sign and serve blobs on Azure Blob, Amazon S3, \
Google Cloud Storage, Vercel Blob, local disk or memory.

A blob is named either by a key in the store the environment configures \
(BLOB_STORAGE_PROVIDER=azure|s3|gcs|vercel|local|memory and the provider's variables, \
exactly as the library's storage::from_env() reads them), or by a URL:

  file:///srv/blobs//recordings/a.webm   local store rooted at /srv/blobs, key recordings/a.webm
  file:///srv/blobs/recordings/a.webm    same, once /srv/blobs is a store (has objects/ and meta/)
  memory://key                           a fresh in-memory store (lives as long as the command)
  azure://container/key                  Azure/Azurite; credentials from AZURE_STORAGE_*
  s3://bucket/key                        S3 or S3-compatible; credentials from AWS_*, endpoint AWS_ENDPOINT_URL
  gs://bucket/key                        Google Cloud Storage; credentials from GOOGLE_APPLICATION_CREDENTIALS
  vercel://pathname                      Vercel Blob/emulator; credentials from BLOB_READ_WRITE_TOKEN

In a file URL, `//` ends the store directory explicitly; without it the deepest \
existing store directory is used, else the parent of the last segment.

Exit codes: 0 success, 1 operation failed, 2 usage error.";

const EXAMPLES: &str = "Examples:
  blobctl put ./talk.webm recordings/talk.webm --cache-control 'private, max-age=3600'
  blobctl get recordings/talk.webm ./talk.webm
  blobctl ls recordings/ --long
  blobctl cp file:///srv/blobs//recordings/a.webm azure://recordings/a.webm
  blobctl sync file:///srv/blobs//recordings/ vercel://recordings/ --jobs 8
  blobctl sync azure://recordings/ s3://recordings/ --jobs 8
  blobctl sign recordings/talk.webm --method put --expires 10m --content-type audio/webm";

/// `blobctl`: the command-line tool of the blob storage library.
#[derive(Debug, Parser)]
#[command(name = "blobctl", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
pub struct Cli {
    /// Print one JSON document on stdout instead of human text.
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// Log to stderr: -v info, -vv debug (each storage call, its duration
    /// and failures), -vvv trace. RUST_LOG takes tracing filter directives.
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The verb.
    #[command(subcommand)]
    pub command: Command,
}

/// The verbs.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Upload a file (or stdin) to a blob.
    #[command(after_help = "Examples:\n  blobctl put ./a.png images/a.png\n  \
        cat log.txt | blobctl put - logs/today.txt --content-type text/plain\n  \
        blobctl put ./a.pdf file:///srv/blobs//docs/a.pdf --metadata owner=42 --if-not-exists")]
    Put(PutArgs),
    /// Download a blob to a file (written atomically) or stdout.
    #[command(after_help = "Examples:\n  blobctl get images/a.png ./a.png\n  \
        blobctl get vercel://logs/today.txt - | less")]
    Get(GetArgs),
    /// Show a blob's size, etag, content type, cache control and metadata.
    #[command(after_help = "Examples:\n  blobctl stat images/a.png\n  \
        blobctl stat azure://recordings/a.webm --json")]
    Stat(StatArgs),
    /// List blobs (and folders, unless --recursive) under a prefix.
    #[command(
        after_help = "Examples:\n  blobctl ls\n  blobctl ls images/ --long\n  \
        blobctl ls file:///srv/blobs//recordings/ --recursive --json"
    )]
    Ls(LsArgs),
    /// Delete blobs, or everything under a prefix (with --yes).
    #[command(after_help = "Examples:\n  blobctl rm images/a.png images/b.png\n  \
        blobctl rm --prefix tmp/ --yes")]
    Rm(RmArgs),
    /// Print a signed URL that lets a client without credentials get, put or delete one blob.
    #[command(after_help = "Examples:\n  blobctl sign images/a.png\n  \
        blobctl sign uploads/b.webm --method put --expires 10m --content-type audio/webm")]
    Sign(SignArgs),
    /// Copy one blob or file: store to store (across providers), file to store, store to file.
    #[command(
        after_help = "Examples:\n  blobctl cp ./a.png vercel://images/a.png\n  \
        blobctl cp azure://recordings/a.webm file:///srv/blobs//recordings/a.webm\n  \
        blobctl cp images/a.png ./a.png   (a bare argument is a local path here)"
    )]
    Cp(CpArgs),
    /// Make a destination prefix hold what a source prefix holds (resumable, verified).
    #[command(
        long_about = "Copy every blob under SRC that is missing under DST or differs in size or \
content (SHA-256), keeping content type, cache control, content disposition and metadata where \
DST supports them. Each copy is verified (size and SHA-256 read back). Where DST keeps user \
metadata, sync stores the checksum as a `sha256` entry, so a rerun compares without reading \
DST; otherwise it reads and hashes. A rerun after an interruption copies only what is left.",
        after_help = "Examples:\n  blobctl sync file:///srv/blobs//recordings/ vercel://recordings/ --jobs 8
  blobctl sync azure://recordings/ s3://recordings/ --jobs 8\n  \
        blobctl sync azure://old/ azure://new/ --delete --dry-run --json"
    )]
    Sync(SyncArgs),
    /// Serve the local signed-URL router or the Vercel Blob emulator.
    #[command(subcommand)]
    Serve(ServeCommand),
    /// Provision containers, access levels and CORS from storage.toml:
    /// plan, apply, destroy, export (see `blobctl infra --help`).
    #[command(after_help = "Examples:\n  blobctl infra plan\n  \
        blobctl infra --provider azure apply --json\n  \
        blobctl infra export --format terraform > storage.tf")]
    Infra(storage_infra::cli::InfraCommand),
}

/// `put` arguments.
#[derive(Debug, Args)]
pub struct PutArgs {
    /// The file to upload, or `-` for stdin.
    pub source: String,
    /// The destination key or store URL.
    pub key: String,
    /// Content type (default: guessed from the file's, else the key's, extension).
    #[arg(long)]
    pub content_type: Option<String>,
    /// Cache-Control to serve the blob with.
    #[arg(long)]
    pub cache_control: Option<String>,
    /// Content-Disposition to serve the blob with.
    #[arg(long)]
    pub content_disposition: Option<String>,
    /// User metadata entry NAME=VALUE (repeatable; names match [a-z_][a-z0-9_]*).
    #[arg(long = "metadata", value_name = "NAME=VALUE", value_parser = parse_pair)]
    pub metadata: Vec<(String, String)>,
    /// Fail (exit 1) instead of overwriting an existing blob.
    #[arg(long)]
    pub if_not_exists: bool,
}

/// `get` arguments.
#[derive(Debug, Args)]
pub struct GetArgs {
    /// The key or store URL to download.
    pub key: String,
    /// The file to write (a directory gets the key's file name), or `-` for stdout.
    pub destination: String,
}

/// `stat` arguments.
#[derive(Debug, Args)]
pub struct StatArgs {
    /// The key or store URL.
    pub key: String,
}

/// `ls` arguments.
#[derive(Debug, Args)]
pub struct LsArgs {
    /// Key prefix or store URL (default: everything in the environment's store).
    #[arg(default_value = "")]
    pub prefix: String,
    /// List every blob under the prefix instead of folding sub-folders.
    #[arg(long, short)]
    pub recursive: bool,
    /// Show size and last-modified time.
    #[arg(long, short)]
    pub long: bool,
}

/// `rm` arguments.
#[derive(Debug, Args)]
pub struct RmArgs {
    /// Keys or store URLs to delete (deleting a missing blob succeeds).
    pub keys: Vec<String>,
    /// Delete every blob under this prefix (needs --yes).
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// Confirm a --prefix deletion.
    #[arg(long)]
    pub yes: bool,
}

/// The method a signed URL allows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Method {
    /// Download.
    Get,
    /// Upload.
    Put,
    /// Delete.
    Delete,
}

/// `sign` arguments.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The key or store URL.
    pub key: String,
    /// What the URL allows.
    #[arg(long, value_enum, default_value = "get")]
    pub method: Method,
    /// How long the URL lives (e.g. 90s, 15m, 2h; at most 7 days).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration)]
    pub expires: std::time::Duration,
    /// Uploads: the content type the client must send. Downloads: the one to serve.
    #[arg(long)]
    pub content_type: Option<String>,
    /// Uploads: the largest body accepted, in bytes, where the provider enforces it.
    #[arg(long)]
    pub max_size: Option<u64>,
}

/// `cp` arguments.
#[derive(Debug, Args)]
pub struct CpArgs {
    /// Source: a store URL, a local path, or `-` for stdin.
    pub source: String,
    /// Destination: a store URL (ending in `/` keeps the source's name), a local path, or `-`.
    pub destination: String,
}

/// `sync` arguments.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Source prefix: a store URL, or a prefix in the environment's store.
    pub source: String,
    /// Destination prefix: a store URL, or a prefix in the environment's store.
    pub destination: String,
    /// Say what would be copied and deleted, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete destination blobs that are not in the source.
    #[arg(long)]
    pub delete: bool,
    /// Blobs copied at once.
    #[arg(long, short, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
}

/// `serve` targets.
#[derive(Debug, Subcommand)]
pub enum ServeCommand {
    /// Serve the local store's signed URLs (download, upload, delete) over HTTP.
    #[command(
        long_about = "Serve the local store (LOCAL_STORAGE_PATH, or --dir) and its signed URLs. \
The router is nested at the path of LOCAL_STORAGE_BASE_URL (default /blobs); sign URLs with the \
same LOCAL_STORAGE_SIGNING_KEY so they verify here.",
        after_help = "Example:\n  LOCAL_STORAGE_SIGNING_KEY=$(openssl rand -hex 32) \
LOCAL_STORAGE_BASE_URL=http://127.0.0.1:8787/blobs blobctl serve local --addr 127.0.0.1:8787"
    )]
    Local {
        /// Address to listen on (port 0 picks a free one; the chosen address is printed).
        #[arg(long, default_value = "127.0.0.1:8787")]
        addr: String,
        /// Store root (default: LOCAL_STORAGE_PATH, else ./.blobs).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Run the Vercel Blob emulator and print the variables that point at it.
    #[command(
        after_help = "Example:\n  blobctl serve vercel-emulator --addr 127.0.0.1:3999 --dir ./.vercel-blobs"
    )]
    VercelEmulator {
        /// Address to listen on (port 0 picks a free one).
        #[arg(long, default_value = "127.0.0.1:3999")]
        addr: String,
        /// Keep blobs under this directory (default: in memory).
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The read-write token to accept (default: a fresh one, printed).
        #[arg(long)]
        token: Option<String>,
    },
}

fn parse_pair(arg: &str) -> Result<(String, String), String> {
    arg.split_once('=')
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .ok_or_else(|| format!("`{arg}` is not NAME=VALUE"))
}
