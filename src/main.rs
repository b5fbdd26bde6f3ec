use std::os::fd::{AsRawFd, OwnedFd};

use clap::Parser;

fn main() {
    let cli = netsettle::cli::Cli::parse();
    let finished = netsettle::run(cli);
    if let Some(fd) = finished.lingering {
        close_in_child(fd);
    }
    std::process::exit(finished.code);
}

/// Lets a short-lived child make the last close of the wait's inotify
/// descriptor, whose close waits for an SRCU grace period (about 6 ms, up
/// to 15 ms on a busy machine) between the report and the exit a boot
/// script waits for (docs/benchmarks.md). Nobody waits for the child; init
/// reaps it once netsettle has exited. If fork fails, the close happens
/// here, as it would have at exit.
fn close_in_child(fd: OwnedFd) {
    // SAFETY: the child only calls close() and _exit(), which are
    // async-signal-safe, so fork() is sound even in a threaded process.
    if unsafe { libc::fork() } == 0 {
        unsafe {
            // Do not hold the caller's pipes (stdout, the journal) open.
            for stdio in 0..3 {
                libc::close(stdio);
            }
            libc::close(fd.as_raw_fd());
            libc::_exit(0);
        }
    }
    drop(fd);
}
