use clap::error::ErrorKind;
use clap::Parser;
use exactly::cli::{self, Cli};
use exactly::core::error::code;

// The model checker clones and drops states by the million: mimalloc does that faster than
// glibc's allocator (`make bench`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Output piped into `head` and the like: end quietly when the reader goes away, as Unix tools
    // do, instead of failing on a write to a closed pipe.
    // SAFETY: setting a signal's disposition to the default at start-up, before any thread runs.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                let _ = e.print();
                std::process::exit(if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand { code::USAGE } else { code::OK });
            }
            _ => {
                // One line: clap's first line, without its usage block.
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or("error: bad usage").trim_start_matches("error: ");
                eprintln!("exactly: {first} (see `exactly --help`)");
                std::process::exit(code::USAGE);
            }
        },
    };
    match cli::main_with(cli) {
        Ok(c) => std::process::exit(c),
        Err(f) => {
            eprintln!("exactly: {}", f.message);
            std::process::exit(f.code);
        }
    }
}
