//! The command line: argument parsing, dispatch, and the mapping from
//! outcomes to exit codes. Nothing else in the crate calls into this module.

mod agent_cmd;
mod generate_cmd;
mod inventory_cmd;
mod logging;
mod payload_cmd;
mod prepare_image_cmd;
mod render;
mod results_cmd;
mod run_cmd;
mod schedule_cmd;
mod state;
mod stop;
mod validate_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Exit codes scripts can rely on; listed in `--help` and docs/cli.md.
pub mod exit {
    /// Everything compliant, every step succeeded.
    pub const OK: u8 = 0;
    /// Something is non-compliant, failed to enforce, or a step failed.
    pub const NON_COMPLIANT: u8 = 1;
    /// Bad usage, an invalid document, or invalid parameters; nothing ran.
    pub const INVALID: u8 = 2;
    /// A step exited 194: the host must reboot before the run can finish.
    pub const REBOOT_REQUIRED: u8 = 3;
    /// Rampart itself could not work (state directory unwritable, ...).
    pub const RUNTIME_ERROR: u8 = 4;
}

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  everything compliant, every step succeeded
  1  something is non-compliant or could not be enforced, or a step failed
  2  usage error, invalid document or invalid parameters (nothing was run)
  3  a step requested a reboot (exit code 194); rerun after rebooting
  4  Rampart could not do its own work (for example an unwritable state directory)
  130, 143  cancelled by SIGINT or SIGTERM; the result (status Cancelled) is kept";

#[derive(Debug, Parser)]
#[command(
    name = "rampart",
    version,
    about = "Check and enforce SSM-format hardening documents on this host",
    long_about = "Rampart runs AWS Systems Manager Command documents (schemaVersion 2.2 and 1.2, JSON or YAML), \
including aws:runShellScript, and its own declarative hardening actions (rampart:file, rampart:line, \
rampart:service, rampart:package, rampart:secretFile, rampart:patchBaseline) that can check a host \
without changing it, or enforce the document.",
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,

    /// Log level for messages on stderr (error, warn, info, debug, trace), or a
    /// tracing filter such as "rampart=debug".
    #[arg(long, global = true, env = "RAMPART_LOG", default_value = "warn")]
    log_level: String,

    /// Config file (default /etc/rampart/rampart.toml; a missing default file
    /// means defaults).
    #[arg(long, global = true, env = "RAMPART_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,

    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Audit this host (or --root) against a document; change nothing.
    ///
    /// Shell steps are skipped unless marked `rampartCheck: true`.
    #[command(after_help = EXIT_CODES_HELP)]
    Check(RunArgs),
    /// Enforce a document: make every resource compliant and run its scripts.
    #[command(after_help = EXIT_CODES_HELP)]
    Apply(ApplyArgs),
    /// Parse and validate a document and its parameters; run nothing.
    #[command(after_help = EXIT_CODES_HELP)]
    Validate(ValidateArgs),
    /// Print host facts and installed packages as PutInventory JSON.
    Inventory(InventoryArgs),
    /// Run the agent: scheduled associations and drift repair (the systemd
    /// service runs this).
    #[command(after_help = agent_cmd::AFTER_HELP)]
    Agent(agent_cmd::AgentArgs),
    /// Associations, next and last runs, and recent drift events, from the
    /// agent's state directory.
    Status(agent_cmd::StatusArgs),
    /// List, show and upload the results in the local outbox.
    #[command(subcommand)]
    Results(ResultsCommand),
    /// Execute an SSM SendCommand message payload (DocumentContent,
    /// Parameters, CommandId, OutputS3BucketName, OutputS3KeyPrefix).
    #[command(after_help = EXIT_CODES_HELP)]
    RunPayload(PayloadArgs),
    /// List the documents built into this binary.
    Documents,
    /// Print the next run times of a schedule expression (rate, cron, at-boot).
    #[command(after_help = schedule_cmd::AFTER_HELP)]
    Schedule(schedule_cmd::ScheduleArgs),
    /// Remove this machine's Rampart state from an image root (spool, agent
    /// state, step scripts) as the last step of a gold-image build.
    #[command(after_help = prepare_image_cmd::AFTER_HELP)]
    PrepareImage(prepare_image_cmd::PrepareImageArgs),
    /// Write the man pages and shell completions (for packaging).
    #[command(hide = true)]
    GenerateAssets(generate_cmd::GenerateArgs),
}

#[derive(Debug, Args)]
struct DocumentArgs {
    /// A document file (.json, .yml, .yaml) or the name of a built-in
    /// document (see `rampart documents`).
    document: String,

    /// A parameter value, as name=value. Repeat it to give a StringList
    /// several values, or pass a JSON array; StringMap and MapList take JSON.
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    params: Vec<String>,

    /// Parameters as one JSON object, {"name": "value" or ["v1", "v2"]};
    /// combined with --param. Convenient from scripts and SSM documents.
    #[arg(long, value_name = "JSON")]
    params_json: Option<String>,
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    doc: DocumentArgs,

    /// Directory that host paths are resolved under: / for this host, or a
    /// mounted image or test root.
    #[arg(long, default_value = "/", value_name = "DIR")]
    root: PathBuf,

    /// Print the result record as JSON instead of a table.
    #[arg(long)]
    json: bool,

    /// Where results (the outbox) and step scripts are kept. Default:
    /// /var/lib/rampart as root, ~/.local/state/rampart otherwise.
    #[arg(long, env = "RAMPART_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,

    /// Command id to file the results under (default: a new UUID, or
    /// SSM_COMMAND_ID when run by amazon-ssm-agent).
    #[arg(long, value_name = "ID", value_parser = command_id)]
    command_id: Option<String>,

    /// Upload results to s3://bucket/prefix (in SSM's key layout) instead of
    /// the config file's [output] s3, keeping them in the spool until S3
    /// confirms them.
    #[arg(long, value_name = "S3_URI")]
    output: Option<String>,

    /// Bytes of stdout and of stderr kept per shell step.
    #[arg(long, default_value_t = 10 * 1024 * 1024, value_name = "BYTES")]
    output_limit: u64,
}

#[derive(Debug, Args)]
struct ApplyArgs {
    #[command(flatten)]
    run: RunArgs,

    /// Reboot the host when a step exits 194 (or a patch baseline install
    /// needs a reboot). Without it the reboot is only recorded and Rampart
    /// exits 3. Never reboots with a --root other than /.
    #[arg(long)]
    allow_reboot: bool,
}

#[derive(Debug, Args)]
struct ValidateArgs {
    #[command(flatten)]
    doc: DocumentArgs,
}

#[derive(Debug, Args)]
struct InventoryArgs {
    /// Directory whose packages and os-release are read.
    #[arg(long, default_value = "/", value_name = "DIR")]
    root: PathBuf,

    /// Also upload the snapshot to s3://bucket/prefix, under
    /// inventory/<instanceId>/inventory.json.
    #[arg(long, value_name = "S3_URI")]
    output: Option<String>,

    /// State directory (for the spool when uploading).
    #[arg(long, env = "RAMPART_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum ResultsCommand {
    /// One line per result in the outbox: time, command id, status, where it goes.
    List(StateArgs),
    /// Print one result record (by directory name or command id).
    Show {
        /// The item's directory name or command id, as `results list` shows.
        id: String,
        #[command(flatten)]
        state: StateArgs,
    },
    /// Send every result that has a destination now.
    Upload(StateArgs),
}

#[derive(Debug, Args)]
struct StateArgs {
    /// State directory (default /var/lib/rampart as root).
    #[arg(long, env = "RAMPART_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct PayloadArgs {
    /// The payload file (JSON), as the SSM service sends it to an agent.
    payload: PathBuf,

    #[arg(long, default_value = "/", value_name = "DIR")]
    root: PathBuf,

    /// Run in check mode instead of applying.
    #[arg(long)]
    check: bool,

    #[arg(long)]
    json: bool,

    #[arg(long, env = "RAMPART_STATE_DIR", value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

/// Entry point of the binary.
/// `--command-id` is a path component and an S3 key part: refused as a
/// usage error (exit 2) before anything runs.
fn command_id(text: &str) -> Result<String, String> {
    crate::output::outbox::check_id("command id", text).map(|()| text.to_string())
}

/// A one-shot command whose reader went away (`rampart check | head`)
/// ends on SIGPIPE, as other Unix tools do, instead of panicking on the
/// failed write. Its result is already in the outbox by then. Sockets are
/// unaffected (Rust writes them with MSG_NOSIGNAL); the agent, which writes
/// to pipes it does not own (journald's), keeps SIGPIPE ignored.
fn print_until_the_reader_leaves() {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: no other thread runs yet, and SIG_DFL installs no handler code.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

pub fn main() -> ExitCode {
    // Off EC2 there is no instance metadata service, and asking for one sends
    // packets to a link-local address the host does not own (and costs a
    // timeout). The SDK's region and credential chains honour this variable;
    // it is set here, before any thread exists, unless the operator set it.
    if std::env::var_os("AWS_EC2_METADATA_DISABLED").is_none()
        && !crate::platform::identity::looks_like_ec2()
    {
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::INVALID
            } else {
                exit::OK
            });
        }
    };
    logging::init(&cli.log_level, cli.log_format);
    if !matches!(cli.command, Command::Agent(_)) {
        print_until_the_reader_leaves();
    }
    let config = cli.config.as_deref();
    let code = match cli.command {
        Command::Check(args) => run_cmd::run(args, config, crate::actions::Mode::Check, false),
        Command::Apply(args) => run_cmd::run(
            args.run,
            config,
            crate::actions::Mode::Apply,
            args.allow_reboot,
        ),
        Command::Validate(args) => validate_cmd::run(args, config),
        Command::Inventory(args) => inventory_cmd::run(args, config),
        Command::Results(cmd) => results_cmd::run(cmd, config),
        Command::Agent(args) => agent_cmd::run(args, config),
        Command::Status(args) => agent_cmd::status(args),
        Command::RunPayload(args) => payload_cmd::run(args, config),
        Command::Schedule(args) => schedule_cmd::run(args),
        Command::PrepareImage(args) => prepare_image_cmd::run(args),
        Command::GenerateAssets(args) => generate_cmd::run(args),
        Command::Documents => {
            for (name, about, _) in crate::documents::builtin::DOCUMENTS {
                println!("{name:<26} {about}");
            }
            exit::OK
        }
    };
    ExitCode::from(stop::exit_code(code))
}

/// Prints an error and its causes once, in the CLI's voice.
fn report(err: &anyhow::Error) {
    eprintln!("rampart: error: {err}");
    for cause in err.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
