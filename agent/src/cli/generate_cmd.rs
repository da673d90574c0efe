//! `rampart generate-assets DIR` (hidden): the man pages and shell
//! completions that the packages ship, generated from the very CLI
//! definition of the binary being packaged, so they cannot drift from it.
//! `packaging/build.sh` runs it; operators never need to.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::{exit, Cli};

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Directory to write into: DIR/man/*.1 and DIR/completions/ (rampart.bash,
    /// _rampart for zsh, rampart.fish). Created if missing.
    out_dir: PathBuf,
}

pub fn run(args: GenerateArgs) -> u8 {
    match generate(&args.out_dir) {
        Ok(()) => exit::OK,
        Err(e) => {
            eprintln!(
                "rampart: error: failed to write assets under {}: {e}",
                args.out_dir.display()
            );
            exit::RUNTIME_ERROR
        }
    }
}

fn generate(out_dir: &Path) -> io::Result<()> {
    // One page per visible command: rampart.1, rampart-check.1, ...
    let man_dir = out_dir.join("man");
    fs::create_dir_all(&man_dir)?;
    clap_mangen::generate_to(Cli::command(), &man_dir)?;

    // Completions for the shells the packages install them for.
    let completions_dir = out_dir.join("completions");
    fs::create_dir_all(&completions_dir)?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        clap_complete::generate_to(shell, &mut Cli::command(), "rampart", &completions_dir)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pages_for_visible_commands_and_three_completions() {
        let tmp = tempfile::tempdir().unwrap();
        generate(tmp.path()).unwrap();

        let pages: Vec<String> = fs::read_dir(tmp.path().join("man"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(pages.contains(&"rampart.1".to_string()), "{pages:?}");
        assert!(pages.contains(&"rampart-check.1".to_string()), "{pages:?}");
        assert!(
            !pages.iter().any(|p| p.contains("generate-assets")),
            "the hidden command got a page: {pages:?}"
        );
        let main = fs::read_to_string(tmp.path().join("man/rampart.1")).unwrap();
        assert!(main.starts_with(".ie"), "not roff: {}", &main[..40]);
        assert!(
            main.contains("Exit codes"),
            "exit codes missing from the page"
        );

        for name in ["rampart.bash", "_rampart", "rampart.fish"] {
            let text = fs::read_to_string(tmp.path().join("completions").join(name)).unwrap();
            assert!(text.contains("prepare-image"), "{name} lacks prepare-image");
        }
    }
}
