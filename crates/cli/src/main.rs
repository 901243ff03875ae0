//! `switchyard`: run the gateway, manage keys and credits, check config, run
//! the provider simulator.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use switchyard_api::NanoUsd;
use switchyard_server::config::{Config, EXAMPLE, resolve_providers};
use switchyard_store::{Billing, Store};

/// Switchyard: a self-hosted, OpenRouter-compatible LLM router.
#[derive(Parser)]
#[command(name = "switchyard", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Common {
    /// TOML config file.
    #[arg(long, env = "SWITCHYARD_CONFIG", global = true)]
    config: Option<PathBuf>,
    /// Directory of the SQLite database.
    #[arg(long, env = "SWITCHYARD_DATA_DIR", global = true)]
    data_dir: Option<PathBuf>,
    /// Database URL (`sqlite://...` or `postgres://...`), overriding the data dir.
    #[arg(long, env = "SWITCHYARD_DATABASE_URL", global = true)]
    database_url: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on.
        #[arg(long, env = "SWITCHYARD_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Manage API keys.
    Keys {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: KeysAction,
    },
    /// Manage account credits.
    Credits {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: CreditsAction,
    },
    /// Inspect and reconcile the credit ledger.
    Ledger {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: LedgerAction,
    },
    /// Inspect the configuration.
    Config {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Manage the model catalog.
    Models {
        #[command(flatten)]
        common: Common,
        #[command(subcommand)]
        action: ModelsAction,
    },
    /// Run the provider simulator (an OpenAI-protocol upstream for tests and benchmarks).
    Sim {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
        /// Do not keep a record of requests (benchmark mode).
        #[arg(long)]
        no_record: bool,
    },
}

#[derive(Subcommand)]
enum ModelsAction {
    /// Add the models of an OpenRouter `GET /api/v1/models` JSON dump to the
    /// catalog (kept in the data directory, read by `serve` at start).
    Import {
        /// The JSON file.
        file: PathBuf,
        /// Provider that serves the imported models: `openrouter` (the
        /// default) uses the slugs as model ids, any other the part after `author/`.
        #[arg(long, default_value = "openrouter")]
        provider: String,
    },
    /// List the routable models with their cheapest price.
    List,
}

#[derive(Subcommand)]
enum KeysAction {
    /// Create an inference key (printed once).
    Create {
        /// Key name.
        #[arg(long)]
        name: String,
        /// A management key: manages keys and credits, cannot run inference.
        #[arg(long)]
        management: bool,
        /// Spend limit in USD.
        #[arg(long)]
        limit: Option<String>,
        /// When the limit starts over: `daily`, `weekly` (Monday) or
        /// `monthly`, at UTC midnight (default: never).
        #[arg(long, requires = "limit")]
        limit_reset: Option<switchyard_store::LimitReset>,
        /// Account id (default: the operator's account).
        #[arg(long)]
        account: Option<String>,
    },
    /// List keys.
    List,
    /// Disable a key, by hash, name or label.
    Disable {
        /// Hash, name or label.
        which: String,
    },
    /// Re-enable a key, by hash, name or label.
    Enable {
        /// Hash, name or label.
        which: String,
    },
}

#[derive(Subcommand)]
enum CreditsAction {
    /// Add credits (USD) to an account.
    Grant {
        /// Amount in USD, e.g. 10 or 2.50.
        #[arg(long)]
        amount: String,
        /// Account id (default: the operator's account).
        #[arg(long)]
        account: Option<String>,
        /// Note stored with the grant.
        #[arg(long, default_value = "granted by operator")]
        note: String,
    },
    /// Show every account's credits, usage and billing mode.
    Show,
    /// Make an account prepaid (needs credits) or postpaid (usage tracked only).
    Billing {
        /// `prepaid` or `postpaid`.
        mode: String,
        /// Account id (default: the operator's account).
        #[arg(long)]
        account: Option<String>,
    },
}

#[derive(Subcommand)]
enum LedgerAction {
    /// Check, for every account, that its usage debits match its generations
    /// one for one; exits 1 on any mismatch.
    Verify,
    /// Print the latest ledger rows, newest first, with the running balance.
    Show {
        /// Only this account.
        #[arg(long)]
        account: Option<String>,
        /// How many rows.
        #[arg(long, default_value_t = 20)]
        limit: i64,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Print a commented example config.
    Example,
    /// Say what is enabled and why.
    Check,
}

fn load_config(common: &Common) -> Result<Config> {
    let mut cfg = match &common.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(d) = &common.data_dir {
        cfg.data_dir = d.clone();
    }
    if let Some(u) = &common.database_url {
        cfg.database_url = Some(u.clone());
    }
    Ok(cfg)
}

async fn open_store(cfg: &Config) -> Result<Store> {
    let store = match &cfg.database_url {
        Some(url) => Store::connect(url).await,
        None => Store::open_data_dir(&cfg.data_dir).await,
    };
    store.context("opening the database")
}

async fn account_or_default(store: &Store, account: Option<String>) -> Result<String> {
    if let Some(a) = account {
        return Ok(a);
    }
    if let Some((acct, key)) = store.bootstrap().await? {
        println!("Created the operator account {} and its admin key (shown once):\n  {}", acct.id, key.plaintext);
    }
    match store.default_account().await? {
        Some(a) => Ok(a.id),
        None => bail!("no account exists"),
    }
}

fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn main() -> Result<()> {
    // Worker threads default to one per core; fewer trade peak throughput for
    // fewer cross-thread wake-ups on small machines.
    let mut rt = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = std::env::var("SWITCHYARD_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).filter(|n| *n > 0) {
        rt.worker_threads(n);
    }
    rt.enable_all().build().context("starting the async runtime")?.block_on(run())
}

async fn run() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHYARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve { common, listen } => serve(common, listen).await,
        Command::Keys { common, action } => keys(common, action).await,
        Command::Credits { common, action } => credits(common, action).await,
        Command::Ledger { common, action } => ledger(common, action).await,
        Command::Config { common, action } => config(common, action),
        Command::Models { common, action } => models(common, action),
        Command::Sim { listen, no_record } => {
            let opts =
                if no_record { switchyard_sim::SimOptions::benchmark() } else { switchyard_sim::SimOptions::new() };
            switchyard_sim::run(listen, opts).await.context("simulator")
        }
    }
}

async fn serve(common: Common, listen: Option<SocketAddr>) -> Result<()> {
    let mut cfg = load_config(&common)?;
    if let Some(l) = listen {
        cfg.listen = l;
    }
    let stop = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    };
    let gw = switchyard_server::start(cfg, &process_env, stop).await?;
    if let Some((acct, key)) = gw.bootstrap() {
        println!("First start: created account {} and its admin (management) key, shown once:", acct.id);
        println!("  {}", key.plaintext);
        println!("Create an inference key with: switchyard keys create --name my-app");
    }
    println!("Switchyard listening on {} ({} routable models)", gw.base_url(), gw.model_count());
    if gw.model_count() == 0 {
        println!("No provider is enabled: set e.g. OPENAI_API_KEY, or see `switchyard config check`.");
    }
    gw.wait().await;
    Ok(())
}

async fn keys(common: Common, action: KeysAction) -> Result<()> {
    let cfg = load_config(&common)?;
    let store = open_store(&cfg).await?;
    match action {
        KeysAction::Create { name, management, limit, limit_reset, account } => {
            let account = account_or_default(&store, account).await?;
            let limit = limit.map(|l| NanoUsd::parse_usd(&l)).transpose()?;
            let spec = switchyard_store::KeySpec {
                name: name.clone(),
                is_management: management,
                limit,
                limit_reset,
                ..Default::default()
            };
            let key = store.create_key_with(&account, &spec).await?;
            println!("{}", key.plaintext);
            eprintln!("Key `{name}` created (hash {}). It is shown only once.", key.record.hash);
        }
        KeysAction::List => {
            println!("{:<64}  {:<20}  {:<10}  {:<8}  {:>12}  label", "hash", "name", "kind", "state", "usage_usd");
            for k in store.keys().await? {
                println!(
                    "{:<64}  {:<20}  {:<10}  {:<8}  {:>12}  {}",
                    k.hash,
                    k.name,
                    if k.is_management { "management" } else { "inference" },
                    if k.disabled { "disabled" } else { "active" },
                    k.usage.to_string(),
                    k.label
                );
            }
        }
        KeysAction::Disable { which } | KeysAction::Enable { which } if which.is_empty() => {
            bail!("name a key")
        }
        KeysAction::Disable { which } => report(store.set_key_disabled(&which, true).await?, &which, "disabled")?,
        KeysAction::Enable { which } => report(store.set_key_disabled(&which, false).await?, &which, "enabled")?,
    }
    store.close().await;
    Ok(())
}

fn report(n: u64, which: &str, what: &str) -> Result<()> {
    if n == 0 {
        bail!("no key matches `{which}`");
    }
    println!("{n} key(s) {what}");
    Ok(())
}

async fn credits(common: Common, action: CreditsAction) -> Result<()> {
    let cfg = load_config(&common)?;
    let store = open_store(&cfg).await?;
    match action {
        CreditsAction::Grant { amount, account, note } => {
            let account = account_or_default(&store, account).await?;
            let amount = NanoUsd::parse_usd(&amount)?;
            store.grant_credits(&account, amount, &note).await?;
            let c = store.credits(&account).await?;
            println!("Granted ${amount} to {account}; balance now ${}", c.balance());
        }
        CreditsAction::Show => {
            for a in store.accounts().await? {
                let c = store.credits(&a.id).await?;
                println!(
                    "{}  {:<10}  billing={:<8}  credits=${}  usage=${}  balance=${}",
                    a.id,
                    a.name,
                    a.billing.as_str(),
                    c.total_credits,
                    c.total_usage,
                    c.balance()
                );
            }
        }
        CreditsAction::Billing { mode, account } => {
            let billing = match mode.as_str() {
                "prepaid" => Billing::Prepaid,
                "postpaid" => Billing::Postpaid,
                other => bail!("billing mode must be `prepaid` or `postpaid`, not `{other}`"),
            };
            let account = account_or_default(&store, account).await?;
            store.set_billing(&account, billing).await?;
            println!("{account} is now {mode}");
        }
    }
    store.close().await;
    Ok(())
}

async fn ledger(common: Common, action: LedgerAction) -> Result<()> {
    let cfg = load_config(&common)?;
    let store = open_store(&cfg).await?;
    let consistent = match action {
        LedgerAction::Verify => ledger_verify(&store).await,
        LedgerAction::Show { account, limit } => ledger_show(&store, account.as_deref(), limit).await.map(|()| true),
    };
    store.close().await;
    if !consistent? {
        // A finding, not a failure of the command: no error trace, exit 1.
        std::process::exit(1);
    }
    Ok(())
}

/// One line per account: `OK` or `MISMATCH`, the totals, and the first
/// offending generations and ledger rows. True when every account is OK.
async fn ledger_verify(store: &Store) -> Result<bool> {
    let checks = store.verify_ledger().await?;
    let mut bad = 0;
    for c in &checks {
        let who = if c.account_name.is_empty() {
            c.account_id.clone()
        } else {
            format!("{} ({})", c.account_id, c.account_name)
        };
        if c.is_ok() {
            println!(
                "OK        {who}: {} costed generations, usage {} matches the ledger",
                c.costed_generations,
                usd(c.generations_cost)
            );
            continue;
        }
        bad += 1;
        let mut line = format!(
            "MISMATCH  {who}: ledger usage {}, generations cost {}, difference {}",
            usd(c.ledger_usage),
            usd(c.generations_cost),
            usd(c.difference())
        );
        let list = |o: &switchyard_store::Offenders| {
            let more = if o.count > o.ids.len() as u64 { ", ..." } else { "" };
            format!("{} ({}{more})", o.count, o.ids.join(", "))
        };
        if c.bad_generations.count > 0 {
            line.push_str(&format!(
                "; generations without exactly one matching usage row: {}",
                list(&c.bad_generations)
            ));
        }
        if c.orphan_rows.count > 0 {
            line.push_str(&format!("; usage rows without their generation: {}", list(&c.orphan_rows)));
        }
        println!("{line}");
    }
    if bad > 0 {
        eprintln!("the ledger does not match the generations of {bad} of {} account(s)", checks.len());
        return Ok(false);
    }
    println!("ledger consistent for {} account(s)", checks.len());
    Ok(true)
}

/// `$1.5`, `-$0.25`.
fn usd(n: NanoUsd) -> String {
    if n.0 < 0 { format!("-${}", NanoUsd(n.0.saturating_neg())) } else { format!("${n}") }
}

/// The latest ledger rows, newest first.
async fn ledger_show(store: &Store, account: Option<&str>, limit: i64) -> Result<()> {
    println!(
        "{:>8}  {:<23}  {:<21}  {:<10}  {:>16}  {:>16}  {:<28}  note",
        "id", "time (UTC)", "account", "kind", "amount_usd", "balance_usd", "generation"
    );
    for e in store.ledger_entries(account, limit).await? {
        let ms = e.created_at;
        let secs = ms.rem_euclid(switchyard_store::DAY_MS) / 1000;
        let time = format!(
            "{} {:02}:{:02}:{:02}.{:03}",
            switchyard_store::utc_date(switchyard_store::utc_day(ms)),
            secs / 3600,
            secs % 3600 / 60,
            secs % 60,
            ms.rem_euclid(1000)
        );
        let line = format!(
            "{:>8}  {:<23}  {:<21}  {:<10}  {:>16}  {:>16}  {:<28}  {}",
            e.id,
            time,
            e.account_id,
            e.kind,
            e.amount.to_string(),
            e.balance.to_string(),
            e.generation_id.as_deref().unwrap_or("-"),
            e.note.as_deref().unwrap_or("")
        );
        println!("{}", line.trim_end());
    }
    Ok(())
}

fn models(common: Common, action: ModelsAction) -> Result<()> {
    let cfg = load_config(&common)?;
    match action {
        ModelsAction::Import { file, provider } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let got = switchyard_router::import::from_openrouter_dump(&text, &provider)?;
            for (slug, why) in &got.skipped {
                eprintln!("skipped {slug}: {why}");
            }
            let count = got.models.len();
            let rendered = switchyard_router::import::merge_into_file(cfg.imported_models()?, got.models)?;
            let path = cfg.imported_catalog_path();
            std::fs::create_dir_all(&cfg.data_dir).with_context(|| format!("creating {}", cfg.data_dir.display()))?;
            // Written beside and renamed, so a crash never leaves half a catalog.
            let tmp = path.with_extension("toml.tmp");
            std::fs::write(&tmp, rendered).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, &path).with_context(|| format!("replacing {}", path.display()))?;
            println!("Imported {count} models served by `{provider}` into {}", path.display());
            if resolve_providers(&cfg, &process_env)?.iter().all(|s| s.slug != provider || s.upstream.is_none()) {
                println!("Note: provider `{provider}` is not enabled, so these models are not routable yet.");
            }
        }
        ModelsAction::List => {
            let statuses = resolve_providers(&cfg, &process_env)?;
            let enabled: Vec<&str> =
                statuses.iter().filter(|s| s.upstream.is_some()).map(|s| s.slug.as_str()).collect();
            let catalog = switchyard_router::Catalog::build(cfg.model_specs()?, |p| enabled.contains(&p))?;
            for m in catalog.models() {
                let p = &m.object.pricing;
                println!(
                    "{:<48} {:>9} ctx  ${:>8.3}/M in  ${:>8.3}/M out  {}",
                    m.spec.id,
                    m.spec.context_length,
                    p.prompt.per_million_usd(),
                    p.completion.per_million_usd(),
                    m.endpoints.iter().map(|e| e.provider.as_str()).collect::<Vec<_>>().join(",")
                );
            }
        }
    }
    Ok(())
}

fn config(common: Common, action: ConfigAction) -> Result<()> {
    match action {
        ConfigAction::Example => print!("{EXAMPLE}"),
        ConfigAction::Check => {
            let cfg = load_config(&common)?;
            match &common.config {
                Some(p) => println!("config: {} (valid)", p.display()),
                None => println!("config: none (defaults; set --config or SWITCHYARD_CONFIG)"),
            }
            println!("listen: {}", cfg.listen);
            match &cfg.database_url {
                Some(u) => println!("database: {}", u.split('@').next_back().unwrap_or(u)),
                None => println!("database: SQLite in {}", cfg.data_dir.display()),
            }
            println!("providers:");
            let statuses = resolve_providers(&cfg, &process_env)?;
            let enabled: Vec<&str> =
                statuses.iter().filter(|s| s.upstream.is_some()).map(|s| s.slug.as_str()).collect();
            for s in &statuses {
                println!("  {:<12} {}", s.slug, s.reason);
            }
            let specs = cfg.model_specs()?;
            let total = specs.len();
            let imported = cfg.imported_models()?.len();
            let catalog = switchyard_router::Catalog::build(specs, |p| enabled.contains(&p))?;
            println!(
                "models: {} routable of {total} specs ({imported} imported into {}, {} configured)",
                catalog.models().len(),
                cfg.imported_catalog_path().display(),
                cfg.models.len()
            );
        }
    }
    Ok(())
}
