//! Command line: `avenue-media [serve]`, `avenue-media token`, `avenue-media sweep`.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use avenue_shared::{Claims, JwtKeys, Role};

use crate::config::Settings;
use crate::maintenance::sweep::sweep_once;
use crate::startup::{open_library, Application};

#[derive(Debug, Parser)]
#[command(name = "avenue-media", version, about = "Avenue's media gateway")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Print a bearer token signed with AVENUE_JWT_SECRET (for operators and `make run`).
    Token {
        #[arg(long, default_value = "operator")]
        sub: String,
        #[arg(long, value_enum, default_value_t = TokenRole::Admin)]
        role: TokenRole,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 12 * 3600)]
        ttl: u64,
    },
    /// Print a signed delivery path for TRANSFORMATION applied to FILE
    /// (`{id}.{ext}`), signed with MEDIA_SIGNING_SECRET.
    SignUrl {
        /// For example `c_fill,w_400,h_300/f_auto`.
        transformation: String,
        /// For example `0123456789abcdef0123456789abcdef.jpg`.
        file: String,
    },
    /// Copy every original to another backend, verify each copy (size and
    /// SHA-256) and switch its record. Mirror copies already there are
    /// verified and promoted instead of copied. Resumable and idempotent;
    /// the service keeps serving meanwhile.
    MigrateStore {
        #[arg(long, value_enum)]
        to: TargetBackend,
        /// Also move rendered variants kept in a store (needed only to
        /// retire the old backend; variants can be rendered again).
        #[arg(long)]
        variants: bool,
    },
    /// Upload every image under PATH (the old uploads folder), skipping what
    /// is not an image, deduplicated by content, and write a JSON-lines
    /// mapping from old paths and URLs to media ids.
    ImportDir {
        path: std::path::PathBuf,
        #[arg(long, default_value = "import-dir-mapping.jsonl")]
        mapping: std::path::PathBuf,
        /// URL prefixes the old system served the folder under.
        #[arg(long = "url-prefix", default_values_t = ["/api/uploads".to_owned(), "/uploads".to_owned()])]
        url_prefixes: Vec<String>,
        #[arg(long, default_value = "legacy")]
        folder: String,
    },
    /// Import images stored inside the documents of a legacy collection
    /// (`temp_images`, `product_images_data`), and write a JSON-lines
    /// mapping from document ids to media ids.
    ImportCollection {
        name: String,
        #[arg(long, default_value = "data")]
        data_field: String,
        #[arg(long, default_value = "content_type")]
        content_type_field: String,
        #[arg(long, default_value = "filename")]
        filename_field: String,
        #[arg(long, default_value = "product_id")]
        product_field: String,
        /// Defaults to NAME-mapping.jsonl.
        #[arg(long)]
        mapping: Option<std::path::PathBuf>,
        #[arg(long, default_value = "legacy")]
        folder: String,
    },
    /// Remove bytes of uploads and deletions that a crash left unfinished
    /// (older than MEDIA_STAGING_GRACE_SECS), media nobody claimed within
    /// MEDIA_PENDING_TTL or whose last claim went MEDIA_GRACE_TTL ago, and
    /// stored objects nothing knows.
    Sweep {
        /// Report what would be removed without removing it.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TargetBackend {
    Gridfs,
    Cloudinary,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TokenRole {
    Admin,
    Service,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    crate::telemetry::init("avenue_media=info,tower_http=info");
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!(error = ?err, "avenue-media failed");
            eprintln!("avenue-media: {err:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::from_env()?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings.clone()).await?;
            let shutdown = avenue_shared::shutdown::shutdown_signal()?;
            tracing::info!(
                port = app.port(),
                bind = %settings.bind,
                database = %settings.mongodb.database,
                "avenue-media listening"
            );
            app.run_until_stopped(shutdown).await
        }
        Command::Token { sub, role, ttl } => {
            let role = match role {
                TokenRole::Admin => Role::Admin,
                TokenRole::Service => Role::Service,
            };
            let keys = JwtKeys::from_secret(settings.jwt_secret.expose().as_bytes());
            println!("{}", keys.sign(&Claims::new(sub, role, ttl))?);
            Ok(())
        }
        Command::SignUrl {
            transformation,
            file,
        } => {
            let transformation = transformation.trim_matches('/');
            crate::process::transformation::Transformation::parse(transformation.split('/'))
                .map_err(|err| anyhow::anyhow!("invalid transformation: {err}"))?;
            let to_sign = format!("{transformation}/{file}");
            let component = crate::process::signature::component(
                &to_sign,
                settings.delivery.signing_secret.expose(),
            );
            println!("/image/upload/{component}/{to_sign}");
            Ok(())
        }
        Command::MigrateStore { to, variants } => {
            let to = match to {
                TargetBackend::Gridfs => crate::store::BackendKind::GridFs,
                TargetBackend::Cloudinary => crate::store::BackendKind::Cloudinary,
            };
            let library = open_library(&settings).await?;
            let progress = avenue_shared::progress::for_terminal("migrate-store", "media");
            let plan = crate::maintenance::migrate::MigrationPlan { to, variants };
            let report =
                crate::maintenance::migrate::migrate(&library, plan, progress.as_ref()).await;
            close(&library).await;
            let report = report?;
            println!(
                "migrate-store: {} moved ({} bytes, {} of them promoted mirror copies), {} variants moved, {} changed meanwhile, {} failed",
                report.moved, report.bytes, report.promoted, report.variants_moved, report.skipped, report.failed
            );
            if report.failed > 0 {
                anyhow::bail!(
                    "{} media could not be moved; see the messages above",
                    report.failed
                );
            }
            Ok(())
        }
        Command::ImportDir {
            path,
            mapping,
            url_prefixes,
            folder,
        } => {
            let library = open_library(&settings).await?;
            let folder = Some(
                crate::media::fields::Folder::parse(&folder)
                    .map_err(|e| anyhow::anyhow!("--folder: {e}"))?,
            );
            let mut out = std::io::BufWriter::new(std::fs::File::create(&mapping)?);
            let progress = avenue_shared::progress::for_terminal("import-dir", "files");
            let report = crate::maintenance::import::import_dir(
                &library,
                &path,
                Some(&mapping),
                &url_prefixes,
                folder,
                &mut out,
                progress.as_ref(),
            )
            .await;
            close(&library).await;
            finish_import("import-dir", &report?, &mapping)
        }
        Command::ImportCollection {
            name,
            data_field,
            content_type_field,
            filename_field,
            product_field,
            mapping,
            folder,
        } => {
            let library = open_library(&settings).await?;
            let db = crate::startup::connect(&settings).await?;
            let folder = Some(
                crate::media::fields::Folder::parse(&folder)
                    .map_err(|e| anyhow::anyhow!("--folder: {e}"))?,
            );
            let mapping = mapping.unwrap_or_else(|| format!("{name}-mapping.jsonl").into());
            let mut out = std::io::BufWriter::new(std::fs::File::create(&mapping)?);
            let progress = avenue_shared::progress::for_terminal("import-collection", "documents");
            let fields = crate::maintenance::import::LegacyFields {
                data: data_field,
                content_type: content_type_field,
                filename: filename_field,
                product: product_field,
            };
            let report = crate::maintenance::import::import_collection(
                &library,
                &db,
                &name,
                &fields,
                folder,
                &mut out,
                progress.as_ref(),
            )
            .await;
            close(&library).await;
            db.client().clone().shutdown().await;
            finish_import("import-collection", &report?, &mapping)
        }
        Command::Sweep { dry_run } => {
            let library = open_library(&settings).await?;
            let lifecycle = settings.lifecycle;
            let policy = crate::maintenance::sweep::SweepPolicy {
                staging_grace: lifecycle.staging_grace,
                pending_ttl: lifecycle.pending_ttl,
                release_grace: lifecycle.release_grace,
                orphans: true,
            };
            let report = sweep_once(&library, policy, dry_run).await;
            close(&library).await;
            let report = report?;
            let verb = if dry_run { "would remove" } else { "removed" };
            println!(
                "sweep: {verb} {} abandoned object(s); {} finished entr(y/ies) cleared; \
                 {verb} {} unclaimed upload(s), {} released media, {} orphaned object(s)",
                report.removed,
                report.cleared,
                report.expired_pending,
                report.expired_released,
                report.orphans
            );
            Ok(())
        }
    }
}

/// Ends the MongoDB client before the runtime does: dropped while its
/// background tasks still run, the driver can panic as the process exits.
async fn close(library: &crate::media::MediaLibrary) {
    library.repo().client().shutdown().await;
}

fn finish_import(
    label: &str,
    report: &crate::maintenance::import::ImportReport,
    mapping: &std::path::Path,
) -> anyhow::Result<()> {
    println!(
        "{label}: {} imported ({} bytes), {} already there, {} skipped (not images), {} failed; mapping in {}",
        report.imported,
        report.bytes,
        report.existing,
        report.skipped,
        report.failed,
        mapping.display()
    );
    if report.failed > 0 {
        anyhow::bail!(
            "{} source(s) could not be imported; see the messages above",
            report.failed
        );
    }
    Ok(())
}
