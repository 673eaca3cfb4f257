"""Ground truth derived from a job: the findings it must produce and those a baseline decides."""

from __future__ import annotations

from cabhunt.simulate.netrec import is_internal
from cabhunt.simulate.scenarios import FS, Job, is_ip_literal

RULE_IDS = {"makecab_download_cab": "CNC-E-2726320-168", "makecab_network": "CNC-E-2726320-168",
            "diantz_network": "CNC-E-2726320-142", "diantz_download_cab": "CNC-E-2726320-143"}


def source_visibility(job: Job) -> str | None:
    """Where the remote source shows: ``command_line`` (UNC or /D), ``ddf`` or ``drive_map``; None if local."""
    if not any(s.kind != "local" for s in job.sources):
        return None
    if job.ddf:
        return "ddf"
    if job.mapped:
        return "drive_map"
    return "command_line"


def expected_rules(job: Job) -> list[str]:
    """Rule slugs that should fire: process rules on remote sources, network rules on own EID 3."""
    rules = []
    if any(s.kind != "local" for s in job.sources):
        rules.append(f"{job.maker}_download_cab")
    if job.own_conn:
        rules.append(f"{job.maker}_network")
    return rules


def expected_findings(job: Job, dns_used: bool) -> list[str]:
    """Findings true of the job's data whatever the fleet baseline."""
    f: list[str] = []
    base = job.image.rsplit("\\", 1)[-1].lower()
    if job.original and job.original.lower() != base:
        f.append("image.renamed")
    if not job.image.lower().startswith(("c:\\windows\\system32\\", "c:\\windows\\syswow64\\")):
        f.append("image.unexpected_path")
    if job.parent in ("powershell", "wscript", "mshta", "winword"):
        f.append("parent.suspicious")
    kinds = {s.kind for s in job.sources}
    remote = [s for s in job.sources if s.kind != "local"]
    if "smb" in kinds:
        f.append("source.smb")
    if "webdav" in kinds:
        f.append("source.webdav")
    if any(is_ip_literal(s.host) for s in remote):
        f.append("source.ip_literal")
    if any(not is_internal(s.ip) for s in remote):
        f.append("source.external")
    if any(s.kind == "webdav" and s.port not in (80, 443) for s in remote):
        f.append("source.nonstandard_port")
    if job.ddf:
        f.append("ddf.referenced")
        if remote:
            f.append("ddf.remote_source")
        if len(remote) >= 10:
            f.append("ddf.bulk_sources")
    low = job.cab.lower()
    if any(x in low for x in ("\\users\\", "\\programdata\\", "\\temp\\", "\\appdata\\")):
        f.append("cabinet.user_writable")
    if low.count(":") > 1:
        f.append("cabinet.ads")
    if job.mapped:
        f.append("net.share_mapped")
    if remote:
        f.append("net.corroborated")
        if any(not is_internal(s.ip) for s in remote):
            f.append("net.external")
        if any(is_ip_literal(s.host) for s in remote):
            f.append("net.ip_literal")
        if any(s.kind == "webdav" and s.port not in (80, 443) for s in remote):
            f.append("net.nonstandard_port")
    if dns_used:
        f.append("dns.corroborated")
    if any(s.kind == "smb" and s.host == FS for s in remote):
        f.append("logon.type3")
    if "webdav" in kinds:
        f.extend(("proxy.corroborated", "webdav.client_activity"))
    if any(x in job.followon for x in ("expand", "extrac32")):
        f.append("followon.extraction")
    if any(x.startswith("exec_") for x in job.followon):
        f.append("followon.execution")
    if any(x in job.followon for x in ("schtasks", "runkey", "service")):
        f.append("followon.persistence")
    names = [s.path.rsplit("\\", 1)[-1].rsplit("/", 1)[-1].lower() for s in job.sources]
    if any(n.endswith((".exe", ".dll", ".sys", ".msi")) for n in names):
        f.append("cab.executable_member")
        if job.kind == "attack":  # attack payloads are packed; benign builds are not
            f.append("cab.high_entropy")
    if any(n.endswith((".ps1", ".hta", ".js", ".vbs")) for n in names):
        f.append("cab.script_member")
    if any(n.endswith((".ini", ".txt")) for n in names) and job.kind == "attack":
        f.append("cab.secret")
    if job.verdict == "suppressed":
        f.append("allowlist.match")
    f.extend(job.extra_findings)
    return f


def possible_findings(job: Job, dns_used: bool) -> list[str]:
    """Findings true of the data by construction whose firing depends on fleet baselines and thresholds."""
    out: list[str] = []
    remote = [s for s in job.sources if s.kind != "local"]
    external = any(not is_internal(s.ip) for s in remote)
    if job.campaign:
        out.append("fleet.spread")
    elif external:
        out.append("fleet.rare_destination")
    if dns_used and external:
        out.append("dns.new_domain")
    if not job.image.lower().startswith("c:\\windows\\"):
        out.append("fleet.rare_process")
    return out
