//! `rampart schedule`: print the next run times of a schedule expression,
//! so an operator can check an association's schedule before deploying it.

use chrono::{DateTime, SecondsFormat, Utc};
use chrono_tz::Tz;
use clap::Args;

use super::exit;
use crate::schedule::{self, Schedule};

/// Help shown after the options: the syntax in brief, examples, exit codes.
pub const AFTER_HELP: &str = "\
Expressions (AWS State Manager syntax; see docs/schedules.md):
  rate(N unit)   every N minutes|hours|days; write 1 minute|hour|day, N > 1 plural.
                 Anchored at 1970-01-01T00:00Z: rate(30 minutes) runs at :00 and :30.
  cron(min hour day-of-month month day-of-week year)
                 exactly one day field is '?'. Days of week are 1-7 with 1 = SUN,
                 or SUN-SAT; months 1-12 or JAN-DEC. Also: * , - /  L (last day),
                 15W (weekday nearest the 15th), LW, 6L (last Friday), TUE#3.
                 5 fields leave out the year; 7 fields put seconds first.
  at-boot        once per boot, when the agent starts (no clock times)

Examples:
  rampart schedule 'cron(0 2 ? * SUN *)'              02:00 UTC every Sunday
  rampart schedule 'cron(30 23 ? * TUE#3 *)' --tz Europe/Paris
  rampart schedule 'rate(1 day)' --jitter i-0abc123:nightly-baseline --count 3

Exit codes:
  0  the run times were printed (or the expression has none left)
  2  the expression or an option is invalid";

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    /// The schedule expression, quoted: 'rate(30 minutes)', 'cron(0 2 ? * SUN *)'
    /// or at-boot.
    expression: String,

    /// Print run times after this RFC 3339 time (default: now).
    #[arg(long, value_name = "TIME", value_parser = parse_from)]
    from: Option<DateTime<Utc>>,

    /// How many run times to print.
    #[arg(long, default_value_t = 5, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    count: u32,

    /// Read cron fields in this IANA time zone (such as Europe/Paris) and
    /// print times with its offset. Default: UTC.
    #[arg(long, value_name = "ZONE", value_parser = parse_zone)]
    tz: Option<Tz>,

    /// Add the jitter this instance would use for this association (default
    /// bounds: 5 minutes for cron, a tenth of the interval up to 10 minutes
    /// for rates).
    #[arg(long, value_name = "INSTANCE_ID:NAME", value_parser = parse_jitter_key)]
    jitter: Option<(String, String)>,
}

pub fn run(args: ScheduleArgs) -> u8 {
    // Parse the expression; a bad one is a usage error.
    let schedule = match Schedule::parse(&args.expression) {
        Ok(s) => s,
        Err(e) => {
            eprintln!(
                "rampart: error: invalid schedule expression '{}': {e}",
                args.expression.trim()
            );
            return exit::INVALID;
        }
    };
    if schedule.runs_at_boot() {
        eprintln!("rampart: {schedule} runs once when the daemon starts; it has no clock times");
        return exit::OK;
    }
    let zone = args.tz.unwrap_or(Tz::UTC);
    let schedule = schedule.in_zone(zone);

    // The jitter, when asked for, is said once on stderr.
    let jitter = match &args.jitter {
        Some((instance, name)) => {
            let jitter = schedule::jitter_for(instance, name, &schedule);
            eprintln!(
                "rampart: jitter for instance '{instance}', association '{name}': {} s \
                 (included below)",
                jitter.as_secs()
            );
            jitter
        }
        None => std::time::Duration::ZERO,
    };

    // Walk forward from --from, printing each run time.
    let mut after = args.from.unwrap_or_else(Utc::now);
    for _ in 0..args.count {
        let Some(next) = schedule.next_after(after, jitter) else {
            eprintln!(
                "rampart: {schedule} has no run time after {}",
                rfc3339(after, zone)
            );
            break;
        };
        println!("{}", rfc3339(next, zone));
        after = next;
    }
    exit::OK
}

/// RFC 3339 in UTC (`Z`), or with the zone's offset when one was given.
fn rfc3339(t: DateTime<Utc>, zone: Tz) -> String {
    if zone == Tz::UTC {
        t.to_rfc3339_opts(SecondsFormat::Secs, true)
    } else {
        t.with_timezone(&zone)
            .to_rfc3339_opts(SecondsFormat::Secs, false)
    }
}

fn parse_from(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{e}; write a time such as 2024-03-15T10:00:00Z"))
}

fn parse_zone(text: &str) -> Result<Tz, String> {
    schedule::parse_time_zone(text).map_err(|e| e.to_string())
}

/// `INSTANCE_ID:NAME`, split at the first colon (neither an instance id nor
/// an association name contains one).
fn parse_jitter_key(text: &str) -> Result<(String, String), String> {
    match text.split_once(':') {
        Some((instance, name)) if !instance.is_empty() && !name.is_empty() => {
            Ok((instance.to_string(), name.to_string()))
        }
        _ => Err("expected INSTANCE_ID:NAME, such as i-0abc123:nightly-baseline".to_string()),
    }
}
