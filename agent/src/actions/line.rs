//! `rampart:line`: one line in a configuration file (sshd_config, sysctl.conf,
//! login.defs, limits.conf).
//!
//! Inputs: `path`, `line`, `match` (a regex selecting the lines that set the
//! same thing; default: lines equal to `line`), `state` (present or absent),
//! `insertBefore` (regex: where a missing line goes; default the end),
//! `stopAt` (regex: the first line it matches and all after are another
//! section, left alone), and `create` (create a missing file, default
//! false).
//!
//! `stopAt` exists for files whose later part is conditional: in
//! sshd_config every line after the first `Match` belongs to a Match block
//! (indented or not), so a global setting found or written there would
//! apply only to that block, and the host would keep sshd's default.
//!
//! With `state: present` the first matching line becomes `line` and any later
//! matching lines are removed. This differs from Ansible's lineinfile (which
//! edits the last match) on purpose: sshd and most daemons take the *first*
//! value they read, so a leftover earlier line would silently win.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use regex_lite::Regex;
use serde_json::Value;

use super::{
    declarative_outcome, reconcile, Action, ActionOutcome, Inputs, Observation, Resource,
    StepContext,
};
use crate::platform::atomic::{self, FileMeta};

#[derive(Debug, Clone)]
pub struct LineAction {
    pub path: PathBuf,
    pub line: Option<String>,
    pub matcher: Option<Regex>,
    pub present: bool,
    pub insert_before: Option<Regex>,
    pub stop_at: Option<Regex>,
    pub create: bool,
}

impl LineAction {
    pub fn from_inputs(step: &str, inputs: &Value) -> Result<Self, Vec<String>> {
        let i = Inputs::new(step, inputs, false)?;
        let path = i.file_path("path");
        let regex = |key: &str| {
            i.string(key).and_then(|re| match Regex::new(&re) {
                Ok(r) => Some(r),
                Err(e) => {
                    i.problem(format_args!(
                        "input '{key}' is not a valid regular expression: {e}"
                    ));
                    None
                }
            })
        };
        if i.get("match").is_some_and(|m| m.as_str() == Some("")) {
            i.problem(
                "input 'match' is empty, which matches every line; give a pattern, or leave \
                 'match' out to match lines equal to 'line'",
            );
        }
        let matcher = regex("match");
        let insert_before = regex("insertBefore");
        let stop_at = regex("stopAt");
        let present = i.choice("state", &["present", "absent"], "present") == "present";
        let line = i.string("line");
        if let Some(l) = &line {
            if l.contains('\n') {
                i.problem("input 'line' must be a single line");
            }
        }
        if present && line.is_none() {
            i.problem("input 'line' is required when state is present");
        }
        if let (true, Some(l), Some(re)) = (present, &line, &matcher) {
            // Otherwise the enforced line is never found again: every run
            // would add another copy and still report the file as wrong.
            if !re.is_match(l) {
                i.problem(format_args!(
                    "input 'line' ('{l}') does not match 'match' (/{}/); the line Rampart \
                     writes must be one that 'match' selects",
                    re.as_str()
                ));
            }
        }
        if !present && line.is_none() && i.get("match").is_none() {
            i.problem("state 'absent' needs 'match' or 'line'");
        }
        let create = i.bool("create").unwrap_or(false);
        i.finish()?;
        Ok(LineAction {
            path,
            line,
            matcher,
            present,
            insert_before,
            stop_at,
            create,
        })
    }

    fn matches(&self, candidate: &str) -> bool {
        match &self.matcher {
            Some(re) => re.is_match(candidate),
            None => self.line.as_deref() == Some(candidate),
        }
    }

    /// The file as it should be, given its current text, and what differs.
    pub fn desired(&self, current: &str) -> (String, Vec<String>) {
        let had_newline = current.is_empty() || current.ends_with('\n');
        // `lines()` drops a `\r` before each `\n`; a CRLF file keeps CRLF.
        let eol = if current.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        };
        let mut lines: Vec<&str> = current.lines().collect();
        let mut notes = Vec::new();
        // Lines from `stopAt` on are another section: not ours to match.
        let end = self
            .stop_at
            .as_ref()
            .and_then(|re| lines.iter().position(|l| re.is_match(l)))
            .unwrap_or(lines.len());
        let hits: Vec<usize> = (0..end).filter(|&n| self.matches(lines[n])).collect();
        if self.present {
            let want = self.line.as_deref().unwrap_or_default();
            match hits.first() {
                Some(&first) => {
                    if lines[first] != want {
                        notes.push(format!(
                            "line {} is '{}', want '{want}'",
                            first + 1,
                            lines[first]
                        ));
                    }
                    for &extra in hits[1..].iter().rev() {
                        notes.push(format!(
                            "line {} '{}' repeats the setting",
                            extra + 1,
                            lines[extra]
                        ));
                        lines.remove(extra);
                    }
                    lines[first] = want;
                }
                None => {
                    notes.push(format!("'{want}' is missing"));
                    let at = self
                        .insert_before
                        .as_ref()
                        .and_then(|re| lines[..end].iter().position(|l| re.is_match(l)))
                        .unwrap_or(end);
                    lines.insert(at, want);
                }
            }
        } else {
            for &n in hits.iter().rev() {
                notes.push(format!("line {} '{}' must not be present", n + 1, lines[n]));
                lines.remove(n);
            }
            notes.reverse();
        }
        let mut text = lines.join(eol);
        if !lines.is_empty() && (had_newline || !notes.is_empty()) {
            text.push_str(eol);
        }
        (text, notes)
    }
}

impl Action for LineAction {
    fn watched_paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }

    fn run(&self, ctx: &StepContext) -> ActionOutcome {
        declarative_outcome(ctx.mode, vec![reconcile(self, ctx)])
    }
}

impl Resource for LineAction {
    fn kind(&self) -> &'static str {
        "line"
    }

    fn id(&self) -> String {
        let what = match (&self.line, &self.matcher) {
            (Some(l), _) => l.clone(),
            (None, Some(m)) => format!("/{}/", m.as_str()),
            (None, None) => String::new(),
        };
        format!("{}: {what}", self.path.display())
    }

    fn observe(&self, ctx: &StepContext) -> Result<Observation, String> {
        let host = ctx.root.resolve(&self.path).map_err(|e| e.to_string())?;
        // The final component is not resolved inside the root, so reading
        // through a link there would judge some other file (possibly the
        // host's own); enforcing refuses links too.
        match fs::symlink_metadata(&host) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(format!(
                    "{} is a symlink; Rampart does not manage files through links",
                    self.path.display()
                ))
            }
            // A FIFO or device would block the read or never end.
            Ok(m) if !m.is_file() => {
                return Err(format!("{} is not a regular file", self.path.display()))
            }
            _ => {}
        }
        let current = match fs::read(&host) {
            Ok(bytes) => String::from_utf8(bytes)
                .map_err(|_| format!("{} is not UTF-8 text", self.path.display()))?,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Ok(if !self.present {
                    Observation::Compliant("file does not exist".into())
                } else if self.create {
                    Observation::Drift(vec![format!("{} does not exist", self.path.display())])
                } else {
                    Observation::Drift(vec![format!(
                        "{} does not exist (set create: true to create it)",
                        self.path.display()
                    )])
                });
            }
            Err(e) => return Err(format!("failed to read {}: {e}", self.path.display())),
        };
        let (_, notes) = self.desired(&current);
        Ok(if notes.is_empty() {
            Observation::Compliant(if self.present {
                "line present".into()
            } else {
                "line absent".into()
            })
        } else {
            Observation::Drift(notes)
        })
    }

    fn fix(&self, ctx: &StepContext, drift: &[String]) -> Result<Vec<String>, String> {
        let host = ctx.root.resolve(&self.path).map_err(|e| e.to_string())?;
        let existing = atomic::check_target(&host).map_err(|e| e.to_string())?;
        let (current, meta) = match existing {
            Some(m) => {
                let text = fs::read_to_string(&host)
                    .map_err(|e| format!("failed to read {}: {e}", self.path.display()))?;
                (
                    text,
                    FileMeta {
                        uid: m.uid(),
                        gid: m.gid(),
                        mode: m.mode() & 0o7777,
                    },
                )
            }
            None if self.create => (
                String::new(),
                FileMeta {
                    uid: 0,
                    gid: 0,
                    mode: 0o644,
                },
            ),
            None => {
                return Err(format!(
                    "{} does not exist (set create: true to create it)",
                    self.path.display()
                ))
            }
        };
        let (text, _) = self.desired(&current);
        atomic::write_file(&host, text.as_bytes(), meta).map_err(|e| e.to_string())?;
        Ok(drift.iter().map(|d| format!("fixed: {d}")).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action(inputs: Value) -> LineAction {
        LineAction::from_inputs("s", &inputs).unwrap()
    }

    #[test]
    fn first_match_is_replaced_and_repeats_removed() {
        let a = action(
            json!({"path": "/etc/ssh/sshd_config", "match": "^\\s*#?\\s*PermitRootLogin\\s", "line": "PermitRootLogin no"}),
        );
        let (text, notes) = a.desired(
            "Port 22\nPermitRootLogin yes\nX11Forwarding no\nPermitRootLogin prohibit-password\n",
        );
        assert_eq!(text, "Port 22\nPermitRootLogin no\nX11Forwarding no\n");
        assert_eq!(notes.len(), 2);
        let (again, notes) = a.desired(&text);
        assert_eq!(again, text);
        assert!(notes.is_empty());
    }

    #[test]
    fn missing_line_goes_before_insert_point_or_at_end() {
        let a = action(
            json!({"path": "/x", "match": "^X11Forwarding", "line": "X11Forwarding no", "insertBefore": "^Match "}),
        );
        let (text, _) = a.desired("Port 22\nMatch User bob\n  X11Forwarding yes\n");
        assert_eq!(
            text,
            "Port 22\nX11Forwarding no\nMatch User bob\n  X11Forwarding yes\n"
        );
        let b = action(json!({"path": "/x", "line": "fs.suid_dumpable = 0"}));
        assert_eq!(b.desired("a = 1").0, "a = 1\nfs.suid_dumpable = 0\n");
        assert_eq!(b.desired("").0, "fs.suid_dumpable = 0\n");
    }

    #[test]
    fn lines_from_stop_at_on_are_neither_matched_nor_removed() {
        // A Match block's line, indented or not, is not the global setting:
        // the global one goes before the block, which is left as it is.
        let a = action(json!({
            "path": "/x", "match": "(?i)^#?\\s?PermitRootLogin\\s",
            "line": "PermitRootLogin no", "stopAt": "(?i)^\\s*Match\\s"
        }));
        let file = "Port 22\nMatch Address 10.0.0.0/8\n PermitRootLogin yes\nPermitRootLogin yes\n";
        let (text, notes) = a.desired(file);
        assert_eq!(
            text,
            "Port 22\nPermitRootLogin no\nMatch Address 10.0.0.0/8\n PermitRootLogin yes\nPermitRootLogin yes\n"
        );
        assert_eq!(notes, vec!["'PermitRootLogin no' is missing"]);
        assert!(a.desired(&text).1.is_empty(), "compliant once fixed");
        // A global line before the block is the one edited.
        let (text, _) = a.desired("PermitRootLogin yes\nMatch User bob\nPermitRootLogin yes\n");
        assert_eq!(
            text,
            "PermitRootLogin no\nMatch User bob\nPermitRootLogin yes\n"
        );
        let gone = action(
            json!({"path": "/x", "match": "^telnet", "state": "absent", "stopAt": "^Match"}),
        );
        assert_eq!(
            gone.desired("telnet\nMatch x\ntelnet\n").0,
            "Match x\ntelnet\n"
        );
    }

    #[test]
    fn absent_removes_every_match() {
        let a = action(json!({"path": "/x", "match": "^telnet", "state": "absent"}));
        let (text, notes) = a.desired("a\ntelnet 1\nb\ntelnet 2\n");
        assert_eq!(text, "a\nb\n");
        assert_eq!(
            notes,
            vec![
                "line 2 'telnet 1' must not be present",
                "line 4 'telnet 2' must not be present"
            ]
        );
    }

    #[test]
    fn crlf_files_keep_crlf_on_every_line() {
        let a = action(json!({"path": "/x", "match": "^A=", "line": "A=2"}));
        let (text, notes) = a.desired("# header\r\nA=1\r\nB=1\r\n");
        assert_eq!(text, "# header\r\nA=2\r\nB=1\r\n");
        assert_eq!(notes.len(), 1);
        assert!(a.desired(&text).1.is_empty());
    }

    #[test]
    fn a_line_its_own_match_misses_and_an_empty_match_are_refused() {
        // Regression: `line: a, match: b` appended another 'a' on every run.
        let err = LineAction::from_inputs("s", &json!({"path": "/x", "line": "a", "match": "b"}))
            .unwrap_err();
        assert!(err[0].contains("does not match 'match' (/b/)"), "{err:?}");
        let err = LineAction::from_inputs("s", &json!({"path": "/x", "line": "a", "match": ""}))
            .unwrap_err();
        assert!(err[0].contains("'match' is empty"), "{err:?}");
    }

    #[test]
    fn paths_must_be_absolute_files() {
        for (path, why) in [
            ("", "is empty"),
            ("etc/x", "must be an absolute path"),
            ("/etc/keep/", "ends in '/'"),
        ] {
            let err =
                LineAction::from_inputs("s", &json!({"path": path, "line": "a"})).unwrap_err();
            assert!(err[0].contains(why), "{path}: {err:?}");
        }
    }

    #[test]
    fn invalid_regex_is_named() {
        let err = LineAction::from_inputs(
            "sshd",
            &json!({"path": "/x", "line": "a", "match": "(unclosed"}),
        )
        .unwrap_err();
        assert!(
            err[0].starts_with("step 'sshd': input 'match' is not a valid regular expression"),
            "{err:?}"
        );
        // Unicode classes are not in regex-lite (docs/documents.md): said,
        // not silently matched as something else.
        let err = LineAction::from_inputs(
            "sshd",
            &json!({"path": "/x", "line": "a", "match": "^\\p{L}+$"}),
        )
        .unwrap_err();
        assert!(err[0].contains("not a valid regular expression"), "{err:?}");
    }
}
