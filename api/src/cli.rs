//! The `avenue-api` command line: `serve` (the default), `create-admin`,
//! and the maintenance runs (`adopt-data`, `import-products`,
//! `rewrite-media-refs`).

use std::io::BufRead;

use anyhow::Context;
use clap::{Parser, Subcommand};

use avenue_shared::Role;

use crate::config::Settings;
use crate::startup::{build_state, Application};

#[derive(Debug, Parser)]
#[command(name = "avenue-api", about = "Avenue's core business API")]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Create an admin account. The password comes from
    /// AVENUE_ADMIN_PASSWORD, or else from the first line of stdin.
    CreateAdmin {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Administrator")]
        name: String,
    },
    /// Convert the documents the old back end wrote into ours, in place:
    /// for each, already ours, convertible (and how) or not (and why).
    /// A dry run unless --apply; a second run changes nothing, and a run
    /// stopped half-way is finished by running it again.
    AdoptData {
        /// Convert in place; without it, only report.
        #[arg(long)]
        apply: bool,
        /// TOML: `[COLLECTION.rename]` old = "ours", `[COLLECTION.values.FIELD]` old = "ours".
        #[arg(long)]
        rules: Option<std::path::PathBuf>,
        /// JSON lines, one per document that changes or fails.
        #[arg(long)]
        report: Option<std::path::PathBuf>,
        /// Only this collection; repeat for several.
        #[arg(long = "only")]
        only: Vec<String>,
    },
    /// Upsert products by SKU from the ERP's export: CSV with a header row
    /// (sku,name,price,stock required; model,sizes,colors,description,
    /// status optional) or JSON lines. A dry run unless --apply; refused
    /// rows are listed by line and make the exit status 1.
    ImportProducts {
        file: std::path::PathBuf,
        /// Write the products; without it, only report.
        #[arg(long)]
        apply: bool,
    },
    /// Point records that name images the old way (URLs, legacy document
    /// ids) at media ids, from the mapping files of `avenue-media
    /// import-dir` and `import-collection`. A dry run unless --apply.
    RewriteMediaRefs {
        /// Mapping files (JSON lines); repeat for several.
        #[arg(long = "mapping", required = true)]
        mappings: Vec<std::path::PathBuf>,
        /// Write the changes (and claim the media); without it, only report.
        #[arg(long)]
        apply: bool,
    },
}

/// # Errors
/// Whatever the command fails with; `main` prints it and exits non-zero.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let bind = settings.bind;
            let app = Application::build(settings).await?;
            let shutdown = avenue_shared::shutdown::shutdown_signal()?;
            tracing::info!(port = app.port(), %bind, "avenue-api listening");
            app.run_until_stopped(shutdown).await
        }
        Command::AdoptData {
            apply,
            rules,
            report,
            only,
        } => adopt_data(settings, apply, rules, report, only).await,
        Command::ImportProducts { file, apply } => import_products(settings, &file, apply).await,
        Command::RewriteMediaRefs { mappings, apply } => {
            let mapping = crate::maintenance::legacy::Mapping::load(&mappings)?;
            let state = build_state(settings).await?;
            let progress = avenue_shared::progress::for_terminal("rewrite-media-refs", "records");
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            let report = crate::maintenance::legacy::rewrite(
                &state.db,
                &state.media,
                &mapping,
                apply,
                progress.as_ref(),
                &mut out,
            )
            .await;
            close(&state.db).await;
            let report = report?;
            let mode = if apply {
                "applied"
            } else {
                "dry run; add --apply to write"
            };
            println!(
                "rewrite-media-refs: {} record(s), {} reference(s) to media ids, {} unresolved, {} failed ({mode})",
                report.records, report.references, report.unresolved, report.failed
            );
            if report.failed > 0 || report.unresolved > 0 {
                anyhow::bail!(
                    "{} reference(s) unresolved and {} record(s) failed; see the lines above",
                    report.unresolved,
                    report.failed
                );
            }
            Ok(())
        }
        Command::CreateAdmin { email, name } => {
            let password = match std::env::var("AVENUE_ADMIN_PASSWORD") {
                Ok(password) if !password.is_empty() => password,
                _ => {
                    let mut line = String::new();
                    std::io::stdin().lock().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let state = build_state(settings).await?;
            let admin = crate::users::accounts::create(
                &state.users,
                &state.hasher,
                &email,
                &name,
                password,
                Role::Admin,
            )
            .await;
            close(&state.db).await;
            let admin = admin.map_err(|err| anyhow::anyhow!("{err}"))?;
            println!("created admin {} ({})", admin.email, admin.id.to_hex());
            Ok(())
        }
    }
}

async fn adopt_data(
    settings: Settings,
    apply: bool,
    rules: Option<std::path::PathBuf>,
    report: Option<std::path::PathBuf>,
    only: Vec<String>,
) -> anyhow::Result<()> {
    use crate::adopt::run::{self, Options, COLLECTIONS};
    use std::io::Write;

    let rules = match rules {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading the rules in {}", path.display()))?;
            crate::adopt::Rules::parse(&text)
                .map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?
        }
        None => crate::adopt::Rules::default(),
    };
    for name in rules.collections().chain(only.iter().map(String::as_str)) {
        if !COLLECTIONS.contains(&name) {
            anyhow::bail!(
                "'{name}' is not one of the collections: {}",
                COLLECTIONS.join(", ")
            );
        }
    }
    let mut report: Box<dyn Write> = match &report {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("creating the report {}", path.display()))?,
        )),
        None => Box::new(std::io::sink()),
    };
    let state = build_state(settings).await?;
    let progress = avenue_shared::progress::for_terminal("adopt-data", "documents");
    let options = Options { apply, rules, only };
    let started = std::time::Instant::now();
    let summaries = run::run(&state.db, &options, progress.as_ref(), &mut report).await;
    let regrouped = match &summaries {
        Ok(summaries)
            if apply
                && summaries
                    .iter()
                    .any(|s| s.collection == crate::shop::catalog::PRODUCTS && s.converted > 0) =>
        {
            crate::shop::grouped::regroup_all(&state.db)
                .await
                .context("rebuilding shop_products_grouped")
        }
        _ => Ok(()),
    };
    close(&state.db).await;
    let summaries = summaries?;
    regrouped?;
    let seconds = started.elapsed().as_secs_f64();
    report.flush()?;
    let mut out = std::io::stdout().lock();
    run::print(&summaries, apply, &mut out)?;
    let documents: u64 = summaries.iter().map(|s| s.documents).sum();
    writeln!(
        out,
        "adopt-data: {documents} document(s) examined in {seconds:.1} s ({:.0} per second)",
        documents as f64 / seconds.max(0.001)
    )?;
    Ok(())
}

async fn import_products(
    settings: Settings,
    file: &std::path::Path,
    apply: bool,
) -> anyhow::Result<()> {
    use std::io::Write;

    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let state = build_state(settings).await?;
    let progress = avenue_shared::progress::for_terminal("import-products", "rows");
    let mut out = std::io::stdout().lock();
    let report =
        crate::shop::import::import(&state.db, &text, apply, progress.as_ref(), &mut out).await;
    close(&state.db).await;
    let report = report?;
    let mut fields: Vec<String> = report
        .fields
        .iter()
        .map(|(field, n)| format!("{field} {n}"))
        .collect();
    fields.sort();
    let mode = if apply {
        "applied"
    } else {
        "dry run; add --apply to write"
    };
    writeln!(
        out,
        "import-products: {} row(s): {} new, {} changed ({}), {} unchanged, {} refused ({mode})",
        report.rows,
        report.created,
        report.changed,
        if fields.is_empty() {
            "-".to_owned()
        } else {
            fields.join(", ")
        },
        report.unchanged,
        report.failed,
    )?;
    if report.failed > 0 {
        anyhow::bail!("{} row(s) refused; see the lines above", report.failed);
    }
    Ok(())
}

/// Ends the MongoDB client before the runtime does. Dropped while its
/// background tasks still run, the driver can panic as the process exits
/// (seen once in 168 runs of `import-products`); shut down, it first waits
/// for what is in flight.
async fn close(db: &mongodb::Database) {
    db.client().clone().shutdown().await;
}
