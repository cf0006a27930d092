//! What a shell and `man` need: completion scripts and the manual page, generated from
//! the same definition the command line parses with.

use std::io::Write;

/// The completion script of `shell`, on standard output.
pub(crate) fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    // Into a buffer first: clap_complete panics when it cannot write (a closed pipe).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut crate::cli(), "scimctl", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(())
}

/// The manual page (roff), on standard output.
pub(crate) fn page() -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    clap_mangen::Man::new(crate::cli()).render(&mut out)?;
    out.flush()?;
    Ok(())
}
