//! The command-line verbs, as a library so `blobctl infra …` can mount them:
//! `plan`, `apply`, `destroy --yes-really`, `export --format terraform|bicep`,
//! with `--manifest storage.toml`, `--provider` and `--json` on every verb.
//! `export` writes for the provider's cloud: azurerm (or Bicep) by default
//! and for azure, hashicorp/aws for s3, hashicorp/google for gcs.
//!
//! Exit codes: 0 success (also "no changes"), 1 an operation failed
//! (partly applied changes are listed), 2 bad usage, manifest or
//! configuration. The provider is `--provider`, else
//! `BLOB_STORAGE_PROVIDER`, else `local`, as for the app itself, and its
//! settings come from the same environment variables the app reads.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::apply::{apply, Backend};
use crate::azure::AzureBackend;
use crate::error::{InfraError, Result};
use crate::export::{bicep, terraform, terraform_gcs, terraform_s3};
use crate::gcs::GcsBackend;
use crate::local::LocalBackend;
use crate::manifest::Manifest;
use crate::report;
use crate::s3::S3Backend;
use crate::vercel::VercelBackend;

/// `storage-infra` / `blobctl infra`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "storage-infra",
    about = "Provision blob containers, access levels and CORS from storage.toml"
)]
pub struct InfraCommand {
    /// The manifest.
    #[arg(long, global = true, default_value = "storage.toml")]
    pub manifest: PathBuf,
    /// Print JSON for pipelines instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The backend; defaults to `BLOB_STORAGE_PROVIDER`, else `local`.
    #[arg(long, global = true, value_enum)]
    pub provider: Option<ProviderArg>,
    /// What to do.
    #[command(subcommand)]
    pub verb: Verb,
}

/// The verbs.
#[derive(Debug, Clone, Subcommand)]
pub enum Verb {
    /// Show what `apply` would change; changes nothing.
    Plan,
    /// Make the live state match the manifest (idempotent).
    Apply,
    /// Delete the manifest's containers and everything in them.
    Destroy {
        /// Required: destroying is never implied.
        #[arg(long)]
        yes_really: bool,
    },
    /// Write the manifest as infrastructure code, for the provider's cloud
    /// (`--provider s3|gcs`: hashicorp/aws or hashicorp/google; otherwise azurerm).
    Export {
        /// Output language (Bicep is Azure only).
        #[arg(long, value_enum)]
        format: ExportFormat,
    },
}

/// A provider name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)]
pub enum ProviderArg {
    Azure,
    Gcs,
    Local,
    S3,
    Vercel,
}

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(missing_docs)]
pub enum ExportFormat {
    Terraform,
    Bicep,
}

/// What a run printed and its exit code, for tests and embedders.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The exit code (0, 1 or 2).
    pub code: u8,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// Runs `cmd` against the process environment and terminal, printing its output.
pub async fn run(cmd: InfraCommand) -> ExitCode {
    ExitCode::from(run_in_terminal(cmd).await)
}

/// Like [`run`], returning the exit code as a number, for tools (such as
/// `blobctl infra`) that fold it into their own exit handling.
pub async fn run_in_terminal(cmd: InfraCommand) -> u8 {
    let outcome = execute(cmd, &|var| std::env::var(var).ok(), &mut |prompt| {
        eprint!("{prompt}");
        let _ = std::io::stderr().flush();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).ok()?;
        Some(line)
    })
    .await;
    print!("{}", outcome.stdout);
    eprint!("{}", outcome.stderr);
    outcome.code
}

/// Runs `cmd` with variables from `lookup`; `confirm` shows a prompt and
/// returns the line typed (for `destroy`).
pub async fn execute(
    cmd: InfraCommand,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    confirm: &mut (dyn FnMut(&str) -> Option<String> + Send),
) -> Outcome {
    let json = cmd.json;
    match execute_inner(cmd, lookup, confirm).await {
        Ok((code, stdout)) => Outcome {
            code,
            stdout,
            stderr: String::new(),
        },
        Err(e) => {
            let code = e.exit_code();
            if json {
                let value = serde_json::json!({ "error": e.to_string(), "exit_code": code });
                Outcome {
                    code,
                    stdout: format!("{}\n", report::json(&value)),
                    stderr: String::new(),
                }
            } else {
                Outcome {
                    code,
                    stdout: String::new(),
                    stderr: format!("error: {e}\n"),
                }
            }
        }
    }
}

async fn execute_inner(
    cmd: InfraCommand,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
    confirm: &mut (dyn FnMut(&str) -> Option<String> + Send),
) -> Result<(u8, String)> {
    let manifest = Manifest::load(&cmd.manifest)?;
    match cmd.verb {
        Verb::Export { format } => {
            // The target cloud is the provider, as for the other verbs;
            // anything but s3 and gcs (local and vercel have no control
            // plane to export for) keeps the Azure export.
            let out = match (format, provider_arg(cmd.provider, lookup)?) {
                (ExportFormat::Terraform, ProviderArg::S3) => terraform_s3::render(&manifest)?,
                (ExportFormat::Terraform, ProviderArg::Gcs) => terraform_gcs::render(&manifest),
                (ExportFormat::Terraform, _) => terraform::render(&manifest),
                (ExportFormat::Bicep, ProviderArg::S3 | ProviderArg::Gcs) => {
                    return Err(InfraError::Usage(
                        "Bicep describes Azure resources only; use --format terraform for s3 \
                         and gcs"
                            .into(),
                    ))
                }
                (ExportFormat::Bicep, _) => bicep::render(&manifest),
            };
            Ok((0, out))
        }
        Verb::Plan => {
            let backend = backend(cmd.provider, lookup)?;
            let plan = backend.plan(&manifest).await?;
            let out = if cmd.json {
                format!("{}\n", report::json(&plan))
            } else {
                report::plan_text(&plan)
            };
            Ok((0, out))
        }
        Verb::Apply => {
            let backend = backend(cmd.provider, lookup)?;
            let report = apply(backend.as_ref(), &manifest).await?;
            let code = if report.succeeded() { 0 } else { 1 };
            let out = if cmd.json {
                format!("{}\n", report::json(&report))
            } else {
                report::apply_text(&report)
            };
            Ok((code, out))
        }
        Verb::Destroy { yes_really } => {
            if !yes_really {
                return Err(InfraError::Usage(
                    "destroy deletes containers and every blob in them; pass --yes-really".into(),
                ));
            }
            let names: Vec<&str> = manifest.containers.iter().map(|c| c.name()).collect();
            let prompt = format!(
                "This deletes the containers {} and all their blobs. Type `destroy` to go on: ",
                names.join(", ")
            );
            let answer = confirm(&prompt).unwrap_or_default();
            if answer.trim() != "destroy" {
                return Err(InfraError::Usage(
                    "not confirmed; nothing was deleted".into(),
                ));
            }
            let backend = backend(cmd.provider, lookup)?;
            let deleted = backend.destroy(&manifest).await?;
            let out = if cmd.json {
                format!(
                    "{}\n",
                    report::json(&serde_json::json!({ "deleted": deleted }))
                )
            } else if deleted.is_empty() {
                "nothing to delete\n".to_string()
            } else {
                format!("deleted: {}\n", deleted.join(", "))
            };
            Ok((0, out))
        }
    }
}

/// `--provider`, else `BLOB_STORAGE_PROVIDER`, else local.
fn provider_arg(
    provider: Option<ProviderArg>,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<ProviderArg> {
    Ok(match provider {
        Some(p) => p,
        None => match lookup("BLOB_STORAGE_PROVIDER").as_deref().map(str::trim) {
            None | Some("") | Some("local") => ProviderArg::Local,
            Some("azure") => ProviderArg::Azure,
            Some("vercel") => ProviderArg::Vercel,
            Some("s3") => ProviderArg::S3,
            Some("gcs") => ProviderArg::Gcs,
            Some(other) => {
                return Err(InfraError::Usage(format!(
                    "BLOB_STORAGE_PROVIDER=`{other}` cannot be provisioned: use azure, s3, \
                     gcs, vercel or local (memory has nothing to provision)"
                )))
            }
        },
    })
}

fn backend(
    provider: Option<ProviderArg>,
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Box<dyn Backend>> {
    Ok(match provider_arg(provider, lookup)? {
        ProviderArg::Azure => Box::new(AzureBackend::new(
            &storage_azure::AzureConfig::from_lookup(lookup)?,
        )?),
        ProviderArg::Local => Box::new(LocalBackend::new(
            storage_local::LocalConfig::from_lookup(lookup)?.root,
        )),
        ProviderArg::S3 => Box::new(S3Backend::new(&s3_config(lookup)?)?),
        ProviderArg::Gcs => {
            let (config, project, location) = gcs_config(lookup)?;
            Box::new(GcsBackend::new(&config, project, location)?)
        }
        ProviderArg::Vercel => Box::new(VercelBackend::new(
            storage_vercel::VercelConfig::from_lookup(lookup)?,
        )?),
    })
}

/// The S3 settings of the app's variables. `S3_BUCKET` names the app's
/// bucket, which provisioning does not need (the manifest names the
/// buckets), so a placeholder stands in when it is unset; it is never sent.
fn s3_config(lookup: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<storage_s3::S3Config> {
    let config = storage_s3::S3Config::from_lookup(|var| {
        let value = lookup(var).filter(|v| !v.trim().is_empty());
        if value.is_none() && var == storage_s3::config::BUCKET {
            return Some("unused-by-storage-infra".into());
        }
        value
    })?;
    Ok(config)
}

/// The GCS settings of the app's variables, with the project and location
/// new buckets get. `GCS_BUCKET` is not needed here (see [`s3_config`]).
fn gcs_config(
    lookup: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<(storage_gcs::GcsConfig, Option<String>, Option<String>)> {
    let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
    let config = storage_gcs::GcsConfig::from_lookup(|var| {
        let value = get(var);
        if value.is_none() && var == storage_gcs::config::BUCKET {
            return Some("unused-by-storage-infra".into());
        }
        value
    })?;
    Ok((config, get(crate::gcs::PROJECT), get(crate::gcs::LOCATION)))
}
