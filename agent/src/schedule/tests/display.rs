//! The normalized form `Display` prints.

use super::parse;

// --- Normalized display --------------------------------------------------

#[test]
fn display_normalizes_expressions() {
    let cases = [
        ("CRON(0 10 ? * mon-fri *)", "cron(0 10 ? * MON-FRI *)"),
        ("cron(0 10 * * 2)", "cron(0 10 ? * MON *)"),
        ("cron(0 */30 * * * ? *)", "cron(*/30 * * * ? *)"),
        ("cron(24 30 09 ? * * *)", "cron(24 30 9 ? * * *)"),
        ("cron(0 2 ? * thu#3 *)", "cron(0 2 ? * THU#3 *)"),
        ("cron(0 2 ? * 5#3 *)", "cron(0 2 ? * THU#3 *)"),
        ("cron(15 10 ? * fril *)", "cron(15 10 ? * 6L *)"),
        ("cron(0 12 ? * L *)", "cron(0 12 ? * SAT *)"),
        ("cron(0 9 lw * ? *)", "cron(0 9 LW * ? *)"),
        ("cron(0 9 15w * ? *)", "cron(0 9 15W * ? *)"),
        ("cron(0 0 1 1,7 ? 2025/5)", "cron(0 0 1 JAN,JUL ? 2025/5)"),
        ("cron(  0   10 ? * 1-7  * )", "cron(0 10 ? * SUN-SAT *)"),
        ("RATE(30 MINUTES)", "rate(30 minutes)"),
        ("rate( 1  hour )", "rate(1 hour)"),
        (" AT-BOOT ", "at-boot"),
    ];
    for (input, normalized) in cases {
        assert_eq!(parse(input).to_string(), normalized, "{input}");
        assert_eq!(parse(normalized), parse(input), "{input}");
    }
}
