"""Derives ``event-sources.tsv`` and ``sigma-logsources.tsv`` (beside this script): development
only, never imported by attack-kg.

Run it in a throwaway virtualenv that has pySigma's pipelines (they are not attack-kg
dependencies)::

    python3 -m venv /tmp/pysigma-venv
    /tmp/pysigma-venv/bin/pip install pysigma pysigma-pipeline-sysmon pysigma-pipeline-windows
    /tmp/pysigma-venv/bin/python builders/derive_telemetry_table.py

The tables were last written with pysigma 1.5.1, pysigma-pipeline-sysmon 2.0.0 and
pysigma-pipeline-windows 2.0.1 (the header of each TSV records the versions read). Every row
says where it comes from (the ``source`` column):

- ``pysigma-pipeline-sysmon``: ``sysmon_generic_logsource_eventid_mapping`` (Windows generic
  category -> Sysmon event ID);
- ``pysigma-pipeline-windows``: ``generic_logsource_to_windows_audit_event_mapping`` (the
  ``windows_audit_pipeline``: process_creation -> Security 4688, registry -> Security 4657) and
  ``windows_generic_category_channel_mapping`` (PowerShell categories -> channel and event ID);
- ``pysigma``: ``sigma.pipelines.common.windows_logsource_mapping`` (Windows service -> channel);
- ``sigma-taxonomy``: the Sigma specification's taxonomy appendix, version 2.1.0 of 2025-08-02
  (github.com/SigmaHQ/sigma-specification, specification/sigma-appendix-taxonomy.md, commit
  b1b2cf6989e2fb5a19f06b4fbe8650f0d1ccb2a8): the rows below, copied by hand from its tables;
- ``ctid-sensor-mappings``: the sensors of CTID's Sensor Mappings to ATT&CK that no Sigma logsource
  names (osquery), so that every provider ``--sensors`` writes is known by name;
- ``sigmahq-logsource-guide``: SigmaHQ's own log source guides (github.com/SigmaHQ/sigma,
  documentation/logsource-guides/windows/category/process_creation.md: Security 4688 or Sysmon 1).

A Sigma logsource with no row here (macOS categories, whose taxonomy row names no event source;
products the taxonomy does not list, such as kubernetes or opencanary) is left out: its rules are
reported as unknown by the build, never guessed.
"""

from __future__ import annotations

import csv
import sys
from importlib import metadata
from pathlib import Path

HERE = Path(__file__).resolve().parent
TAXONOMY = "sigma-taxonomy 2.1.0 (sigma-specification b1b2cf69)"
GUIDE = "sigmahq-logsource-guide windows/category/process_creation.md"

# Sysmon event IDs and their names (Microsoft Sysinternals' Sysmon documentation).
SYSMON_EVENTS = {
    1: "process creation",
    2: "file creation time changed",
    3: "network connection",
    4: "Sysmon service state changed",
    5: "process terminated",
    6: "driver loaded",
    7: "image loaded",
    8: "CreateRemoteThread",
    9: "RawAccessRead",
    10: "process access",
    11: "file create",
    12: "registry object create and delete",
    13: "registry value set",
    14: "registry key and value rename",
    15: "file create stream hash",
    16: "Sysmon configuration change",
    17: "pipe created",
    18: "pipe connected",
    19: "WMI event filter",
    20: "WMI event consumer",
    21: "WMI consumer to filter",
    22: "DNS query",
    23: "file delete archived",
    24: "clipboard change",
    25: "process tampering",
    26: "file delete logged",
    27: "file block executable",
    28: "file block shredding",
    29: "file executable detected",
    255: "error",
}
SECURITY_EVENTS = {4688: "a new process has been created", 4657: "a registry value was modified"}
POWERSHELL_EVENTS = {4103: "module logging", 4104: "script block logging"}
POWERSHELL_CLASSIC_EVENTS = {400: "engine state started", 600: "provider started", 800: "pipeline execution"}

CTID = "ctid-sensor-mappings cd48f4d (sensor-mappings-to-attack, mappings/input/enterprise/csv)"
CTID_PROVIDERS = {"osquery": "osquery"}
# Windows service -> provider name, where it is not "windows-" + the service.
WINDOWS_PROVIDERS = {
    "security": "windows-security",
    "system": "windows-system",
    "application": "windows-application",
    "sysmon": "sysmon",
    "powershell": "windows-powershell",
    "powershell-classic": "windows-powershell-classic",
    "windefend": "windows-defender",
    "ldap_debug": "windows-ldap",
    "ldap": "windows-ldap",
    "microsoft-servicebus-client": "windows-servicebus-client",
}
# Windows services the taxonomy lists and pySigma's mapping does not (service -> channel).
TAXONOMY_WINDOWS_SERVICES = {
    "application-experience": "Microsoft-Windows-Application-Experience/Program-Telemetry, "
    "Microsoft-Windows-Application-Experience/Program-Compatibility-Assistant",
    "hyper-v-worker": "Microsoft-Windows-Hyper-V-Worker",
    "iis-configuration": "Microsoft-IIS-Configuration/Operational",
    "kernel-event-tracing": "Microsoft-Windows-Kernel-EventTracing",
    "kernel-shimengine": "Microsoft-Windows-Kernel-ShimEngine/Operational, Microsoft-Windows-Kernel-ShimEngine/Diagnostic",
    "ldap": "Microsoft-Windows-LDAP-Client/Debug",
    "ntfs": "Microsoft-Windows-Ntfs/Operational",
    "sense": "Microsoft-Windows-SENSE/Operational",
    "servicebus-client": "Microsoft-ServiceBus-Client/Operational, Microsoft-ServiceBus-Client/Admin",
}
# (product, category, service) -> (provider, event or "", event label, provider label), from the taxonomy.
TAXONOMY_ROWS = [
    # Windows categories the taxonomy gives an ETW provider for (no pipeline maps them).
    (("windows", "file_access", ""), ("windows-kernel-file", "", "", "ETW provider Microsoft-Windows-Kernel-File")),
    (("windows", "file_rename", ""), ("windows-kernel-file", "", "", "ETW provider Microsoft-Windows-Kernel-File")),
    # Linux categories: Sysmon for Linux.
    (
        ("linux", "process_creation", ""),
        ("sysmon-linux", "1", "Sysmon for Linux event 1 (process creation)", "Sysmon for Linux"),
    ),
    (
        ("linux", "network_connection", ""),
        ("sysmon-linux", "3", "Sysmon for Linux event 3 (network connection)", "Sysmon for Linux"),
    ),
    (
        ("linux", "file_event", ""),
        ("sysmon-linux", "11", "Sysmon for Linux event 11 (file create)", "Sysmon for Linux"),
    ),
    # Linux services.
    (("linux", "", "auditd"), ("auditd", "", "", "Linux audit log (auditd.log)")),
    (("linux", "", "auth"), ("linux-auth", "", "", "Linux authentication log (auth.log)")),
    (("linux", "", "clamav"), ("linux-clamav", "", "", "ClamAV log")),
    (("linux", "", "cron"), ("linux-cron", "", "", "cron log")),
    (("linux", "", "guacamole"), ("linux-guacamole", "", "", "Apache Guacamole log")),
    (("linux", "", "sudo"), ("linux-sudo", "", "", "sudo log")),
    (("linux", "", "sshd"), ("linux-sshd", "", "", "OpenSSH server (sshd) log")),
    (("linux", "", "syslog"), ("linux-syslog", "", "", "Linux syslog")),
    (("linux", "", "vsftpd"), ("linux-vsftpd", "", "", "vsftpd log")),
    # Cloud.
    (("aws", "", "cloudtrail"), ("aws-cloudtrail", "", "", "AWS CloudTrail")),
    (("azure", "", "activitylogs"), ("azure-activitylogs", "", "", "Azure activity log")),
    (("azure", "", "auditlogs"), ("azure-auditlogs", "", "", "Microsoft Entra ID (Azure AD) audit log")),
    (("azure", "", "riskdetection"), ("azure-riskdetection", "", "", "Microsoft Entra ID (Azure AD) risk detections")),
    (
        ("azure", "", "pim"),
        ("azure-pim", "", "", "Microsoft Entra ID (Azure AD) Privileged Identity Management alerts"),
    ),
    (("azure", "", "signinlogs"), ("azure-signinlogs", "", "", "Microsoft Entra ID (Azure AD) sign-in log")),
    (("bitbucket", "", "audit"), ("bitbucket-audit", "", "", "Bitbucket audit log")),
    (("cisco", "", "duo"), ("cisco-duo", "", "", "Cisco Duo log")),
    (("gcp", "", "gcp.audit"), ("gcp-audit", "", "", "Google Cloud audit log")),
    (("gcp", "", "google_workspace.admin"), ("google-workspace-admin", "", "", "Google Workspace admin audit log")),
    (("github", "", "audit"), ("github-audit", "", "", "GitHub organization audit log")),
    (("m365", "", "audit"), ("m365-audit", "", "", "Microsoft 365 audit log")),
    (("m365", "", "exchange"), ("m365-exchange", "", "", "Microsoft 365 Exchange log")),
    (("m365", "", "threat_detection"), ("m365-threat-detection", "", "", "Microsoft 365 threat detection alerts")),
    (("m365", "", "threat_management"), ("m365-threat-management", "", "", "Microsoft 365 threat management alerts")),
    (("okta", "", "okta"), ("okta", "", "", "Okta system log")),
    (("onelogin", "", "onelogin.events"), ("onelogin", "", "", "OneLogin events")),
    # Network devices.
    (("cisco", "", "aaa"), ("cisco-aaa", "", "", "Cisco AAA log")),
    (("cisco", "", "bgp"), ("cisco-bgp", "", "", "Cisco BGP log")),
    (("cisco", "", "ldp"), ("cisco-ldp", "", "", "Cisco LDP log")),
    (("huawei", "", "ldp"), ("huawei-ldp", "", "", "Huawei LDP log")),
    (("juniper", "", "ldp"), ("juniper-ldp", "", "", "Juniper LDP log")),
    # Zeek: each service is one Zeek log.
    *(
        (("zeek", "", log), ("zeek", log, f"Zeek {log}.log", "Zeek network monitor"))
        for log in ("dce_rpc", "dns", "http", "kerberos", "rdp", "smb_files", "x509")
    ),
    # Generic categories: any product's log of that kind.
    (("", "antivirus", ""), ("antivirus", "", "", "antivirus detection messages (any product)")),
    (("", "database", ""), ("database", "", "", "database query log (any product)")),
    (("", "dns", ""), ("dns", "", "", "DNS query log (any DNS server or resolver)")),
    (("", "firewall", ""), ("firewall", "", "", "firewall log (any product)")),
    (("", "proxy", ""), ("proxy", "", "", "web proxy log (any product)")),
    (("", "webserver", ""), ("webserver", "", "", "web server access log (any product)")),
    # Products.
    (("", "", "apache"), ("apache", "", "", "Apache httpd error.log")),
    (("modsecurity", "", ""), ("modsecurity", "", "", "ModSecurity log")),
    # Application folder: the application's own log.
    *(
        ((product, "application", ""), (product.replace("_", "-"), "", "", f"{title} application log"))
        for product, title in (
            ("django", "Django"),
            ("python", "Python"),
            ("rpc_firewall", "RPC Firewall"),
            ("ruby_on_rails", "Ruby on Rails"),
            ("spring", "Spring Framework"),
            ("sql", "SQL"),
        )
    ),
]


def windows_provider(service: str) -> str:
    return WINDOWS_PROVIDERS.get(service, "windows-" + service.replace("_", "-"))


def main() -> int:
    # Run as a script, this folder is first on sys.path, and its sigma.py would hide pySigma's.
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != HERE]
    from sigma.pipelines.common import windows_logsource_mapping
    from sigma.pipelines.sysmon.sysmon import sysmon_generic_logsource_eventid_mapping
    from sigma.pipelines.windows.windows import (
        generic_logsource_to_windows_audit_event_mapping,
        windows_generic_category_channel_mapping,
    )

    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("pysigma", "pysigma-pipeline-sysmon", "pysigma-pipeline-windows")
    )
    sysmon = f"pysigma-pipeline-sysmon {metadata.version('pysigma-pipeline-sysmon')} sysmon_generic_logsource_eventid_mapping"
    windows = f"pysigma-pipeline-windows {metadata.version('pysigma-pipeline-windows')}"
    common = f"pysigma {metadata.version('pysigma')} sigma.pipelines.common.windows_logsource_mapping"

    providers: dict[str, tuple[str, str]] = {}  # provider -> (label, source)
    events: dict[tuple[str, str], tuple[str, str]] = {}  # (provider, event) -> (label, source)
    rows: list[tuple[str, str, str, str, str, str]] = []

    def channel_label(channel: str | list[str]) -> str:
        return "Windows event log channel " + (channel if isinstance(channel, str) else ", ".join(channel))

    for service, channel in windows_logsource_mapping.items():
        provider = windows_provider(service)
        providers.setdefault(provider, (channel_label(channel), common))
        rows.append(("windows", "", service, provider, "", common))
    for service, channel in TAXONOMY_WINDOWS_SERVICES.items():
        provider = windows_provider(service)
        providers.setdefault(provider, (channel_label(channel), TAXONOMY))
        rows.append(("windows", "", service, provider, "", TAXONOMY))

    for category, ids in sysmon_generic_logsource_eventid_mapping.items():
        for event in ids if isinstance(ids, list) else [ids]:
            events.setdefault(("sysmon", str(event)), (f"Sysmon event {event} ({SYSMON_EVENTS[event]})", sysmon))
            rows.append(("windows", category, "", "sysmon", str(event), sysmon))
    audit = f"{windows} generic_logsource_to_windows_audit_event_mapping"
    for category, condition in generic_logsource_to_windows_audit_event_mapping.items():
        event = condition["EventID"]
        label = f"Windows Security event {event} ({SECURITY_EVENTS[event]})"
        events.setdefault(("windows-security", str(event)), (label, audit))
        rows.append(("windows", category, "", "windows-security", str(event), audit))
    channels = f"{windows} windows_generic_category_channel_mapping"
    for category, info in windows_generic_category_channel_mapping.items():
        provider, event = windows_provider(info["service"]), info["EventID"]
        names = POWERSHELL_EVENTS if info["service"] == "powershell" else POWERSHELL_CLASSIC_EVENTS
        title = "PowerShell" if info["service"] == "powershell" else "Windows PowerShell (classic)"
        events.setdefault((provider, str(event)), (f"{title} event {event} ({names[event]})", channels))
        rows.append(("windows", category, "", provider, str(event), channels))
    if ("windows", "process_creation", "", "windows-security", "4688", audit) not in rows:
        rows.append(("windows", "process_creation", "", "windows-security", "4688", GUIDE))

    for (product, category, service), (provider, event, event_label, provider_label) in TAXONOMY_ROWS:
        providers.setdefault(provider, (provider_label, TAXONOMY))
        if event:
            events.setdefault((provider, event), (event_label, TAXONOMY))
        rows.append((product, category, service, provider, event, TAXONOMY))
    providers.setdefault("sysmon", ("Sysmon (Windows)", sysmon))
    # Sensors of CTID's sensor mappings that no Sigma logsource names: known by name all the same.
    for provider, label in CTID_PROVIDERS.items():
        providers.setdefault(provider, (label, CTID))

    header = [
        "# Written by builders/derive_telemetry_table.py (its docstring says how); do not edit by hand.",
        f"# Read: {versions}; {TAXONOMY}; {GUIDE}.",
    ]
    with (HERE / "event-sources.tsv").open("w", encoding="utf-8", newline="") as stream:
        stream.write("\n".join([*header, "# provider\tevent\tlabel\tsource"]) + "\n")
        out = csv.writer(stream, delimiter="\t", lineterminator="\n")
        for provider in sorted(providers):
            out.writerow([provider, "", *providers[provider]])
            for (owner, event), (label, source) in sorted(events.items(), key=lambda kv: (kv[0][0], _key(kv[0][1]))):
                if owner == provider:
                    out.writerow([provider, event, label, source])
    with (HERE / "sigma-logsources.tsv").open("w", encoding="utf-8", newline="") as stream:
        stream.write("\n".join([*header, "# product\tcategory\tservice\tprovider\tevent\tsource"]) + "\n")
        out = csv.writer(stream, delimiter="\t", lineterminator="\n")
        for row in sorted(set(rows), key=lambda r: (r[0], r[1], r[2], r[3], _key(r[4]))):
            out.writerow(row)
    print(f"{len(providers)} providers, {len(events)} events, {len(set(rows))} logsource rows", file=sys.stderr)
    return 0


def _key(event: str) -> tuple[int, str]:
    return (int(event), "") if event.isdigit() else (1 << 30, event)


if __name__ == "__main__":
    sys.exit(main())
