"""Parses a netsettle --metrics textfile with the Prometheus client's own
text parser (what node_exporter's format is checked against) and checks
that the not-ready device is carried. Usage: check-metrics.py FILE PCI"""
import sys

from prometheus_client.parser import text_string_to_metric_families

path, pci = sys.argv[1], sys.argv[2]
families = {f.name: f for f in text_string_to_metric_families(open(path).read())}
for name in ("netsettle_ready", "netsettle_duration_seconds", "netsettle_exit_code",
             "netsettle_devices", "netsettle_device_not_ready",
             "netsettle_last_run_timestamp_seconds"):
    assert name in families, f"{name} missing: {sorted(families)}"
    assert families[name].type == "gauge", f"{name} is {families[name].type}"
assert families["netsettle_ready"].samples[0].value == 0
states = {s.labels["state"]: s.value for s in families["netsettle_devices"].samples}
assert states.get("no-netdev") == 1, states
series = [s.labels for s in families["netsettle_device_not_ready"].samples]
assert {"pci": pci, "driver": "mlx4_core", "state": "no-netdev"} in series, series
print(f"{len(families)} metric families, not-ready series {series}")
