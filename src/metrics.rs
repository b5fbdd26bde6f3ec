//! A Prometheus node_exporter textfile (`--metrics FILE`), written at exit so
//! a fleet can find the machines that boot with NICs missing.

use std::fmt::Write as _;
use std::io;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::report::{Report, State};

const STATES: [State; 7] = [
    State::Ready,
    State::NoDriver,
    State::ProbeFailed,
    State::NoNetdev,
    State::NotProcessed,
    State::Passthrough,
    State::Ignored,
];

/// Escapes a label value per the text exposition format.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Renders the report in the Prometheus text exposition format.
pub fn render(report: &Report, now: SystemTime) -> String {
    let mut s = String::new();
    let ts = now
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let _ = writeln!(
        s,
        "# HELP netsettle_ready Whether every expected network device was ready at exit."
    );
    let _ = writeln!(s, "# TYPE netsettle_ready gauge");
    let _ = writeln!(s, "netsettle_ready {}", u8::from(report.ready));
    let _ = writeln!(
        s,
        "# HELP netsettle_duration_seconds Time netsettle waited."
    );
    let _ = writeln!(s, "# TYPE netsettle_duration_seconds gauge");
    let _ = writeln!(
        s,
        "netsettle_duration_seconds {:.3}",
        report.elapsed_ms as f64 / 1000.0
    );
    let _ = writeln!(
        s,
        "# HELP netsettle_exit_code The exit code netsettle left with."
    );
    let _ = writeln!(s, "# TYPE netsettle_exit_code gauge");
    let _ = writeln!(s, "netsettle_exit_code {}", report.exit_code);
    let _ = writeln!(
        s,
        "# HELP netsettle_devices Watched PCI network functions by state."
    );
    let _ = writeln!(s, "# TYPE netsettle_devices gauge");
    for st in STATES {
        let n = report.devices.iter().filter(|d| d.state == st).count();
        let _ = writeln!(s, "netsettle_devices{{state=\"{}\"}} {n}", st.as_str());
    }
    let _ = writeln!(
        s,
        "# HELP netsettle_device_not_ready A watched device that was not ready at exit."
    );
    let _ = writeln!(s, "# TYPE netsettle_device_not_ready gauge");
    for d in report.devices.iter().filter(|d| !d.state.is_settled()) {
        let _ = writeln!(
            s,
            "netsettle_device_not_ready{{pci=\"{}\",driver=\"{}\",state=\"{}\"}} 1",
            // An address needs no escaping.
            d.pci,
            label(d.driver.as_deref().unwrap_or("")),
            d.state.as_str()
        );
    }
    let _ = writeln!(
        s,
        "# HELP netsettle_last_run_timestamp_seconds When netsettle finished."
    );
    let _ = writeln!(s, "# TYPE netsettle_last_run_timestamp_seconds gauge");
    let _ = writeln!(s, "netsettle_last_run_timestamp_seconds {ts:.3}");
    s
}

/// Writes the textfile atomically: node_exporter must never read half a file.
pub fn write(path: &Path, report: &Report) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    std::fs::write(&tmp, render(report, SystemTime::now()))?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
