"""The normalized event table: one flat, typed, ECS-named column set for every input.

Every reader's field map targets these columns and nothing else, so detection and investigation
read one shape whatever the log source was. Column names are the ECS dotted names with ``.``
replaced by ``_`` (``process.command_line`` -> ``process_command_line``): dotted column names
need quoting in every SQL dialect and are treated as struct access by Spark, underscores are
portable. ``ecs_name()`` gives the dotted ECS name back for output.

Conventions (all readers must honour them):
- ``ts`` is UTC, millisecond precision (``TIMESTAMP`` without time zone, value in UTC).
- strings are kept as written (case preserved); matching code lowercases.
- ``process_name`` is the lowercased base name of ``process_executable`` (``makecab.exe``).
- ``event_code`` is the Windows event id (Sysmon 1, 3, 7, 11, 13, 15, 22; Security 4624, 4688,
  5140, 5145); for Zeek and proxy records it is 0 and ``event_dataset`` says what it is.
- ``raw`` is the original record as JSON text (evidence); never parsed again on a hot path.
- ``event_uid`` is ``<sha256 of source file content, 16 hex>:<record id or line number>``; the
  idempotency key of the store.
"""

from __future__ import annotations

# name -> DuckDB type. Order is the physical column order.
EVENT_COLUMNS: dict[str, str] = {
    "event_uid": "VARCHAR",
    "ts": "TIMESTAMP",
    "host_name": "VARCHAR",
    "event_provider": "VARCHAR",  # sysmon | security | zeek | proxy
    "event_dataset": "VARCHAR",  # sysmon | security | zeek.conn | zeek.dns | zeek.http | zeek.ssl | zeek.smb_mapping | zeek.smb_files | squid
    "event_code": "INTEGER",
    "event_category": "VARCHAR",  # process | network | file | dns | registry | image_load | logon | share | proxy | tls
    # process (EID 1 / 4688; the acting process for every other Sysmon event)
    "process_entity_id": "VARCHAR",  # Sysmon ProcessGuid, braces kept as logged
    "process_pid": "BIGINT",
    "process_executable": "VARCHAR",
    "process_name": "VARCHAR",
    "process_command_line": "VARCHAR",
    "process_pe_original_file_name": "VARCHAR",
    "process_working_directory": "VARCHAR",
    "process_integrity_level": "VARCHAR",
    "process_hashes": "VARCHAR",  # Sysmon Hashes string as logged (SHA256=...,MD5=...)
    "process_hash_sha256": "VARCHAR",
    "process_parent_entity_id": "VARCHAR",
    "process_parent_pid": "BIGINT",
    "process_parent_executable": "VARCHAR",
    "process_parent_name": "VARCHAR",
    "process_parent_command_line": "VARCHAR",
    "user_name": "VARCHAR",  # without domain
    "user_domain": "VARCHAR",
    "logon_id": "VARCHAR",
    # network (EID 3, Zeek conn/http/ssl/smb, proxy)
    "source_ip": "VARCHAR",
    "source_port": "INTEGER",
    "destination_ip": "VARCHAR",
    "destination_port": "INTEGER",
    "destination_domain": "VARCHAR",  # DestinationHostname / Zeek host / proxy host
    "network_transport": "VARCHAR",
    "network_initiated": "BOOLEAN",
    # file (EID 11 / 15; Zeek smb_files)
    "file_path": "VARCHAR",
    "file_hash_sha256": "VARCHAR",
    "file_contents": "VARCHAR",  # EID 15 Contents (Zone.Identifier text)
    # dns (EID 22; Zeek dns)
    "dns_question_name": "VARCHAR",
    "dns_answers": "VARCHAR",  # as logged (Sysmon QueryResults / Zeek answers joined by ';')
    # registry (EID 13)
    "registry_path": "VARCHAR",
    "registry_value": "VARCHAR",
    # image load (EID 7)
    "dll_path": "VARCHAR",
    "dll_signed": "BOOLEAN",
    "dll_signature": "VARCHAR",
    "dll_signature_status": "VARCHAR",
    # logon / share (4624 / 5140 / 5145)
    "logon_type": "INTEGER",
    "share_name": "VARCHAR",
    "share_relative_target": "VARCHAR",
    "share_access": "VARCHAR",
    # http / proxy / tls
    "url_full": "VARCHAR",
    "http_request_method": "VARCHAR",
    "http_response_status_code": "INTEGER",
    "http_response_bytes": "BIGINT",
    "user_agent": "VARCHAR",
    "tls_server_name": "VARCHAR",
    # provenance
    "src_file": "VARCHAR",
    "src_format": "VARCHAR",
    "src_record_id": "BIGINT",
    "raw": "VARCHAR",
}

COLUMN_NAMES: tuple[str, ...] = tuple(EVENT_COLUMNS)

# Columns whose ECS name is not simply the dotted form of the column name.
_ECS_OVERRIDES: dict[str, str] = {
    "ts": "@timestamp",
    "process_pe_original_file_name": "process.pe.original_file_name",
    "process_hash_sha256": "process.hash.sha256",
    "process_parent_entity_id": "process.parent.entity_id",
    "process_parent_pid": "process.parent.pid",
    "process_parent_executable": "process.parent.executable",
    "process_parent_name": "process.parent.name",
    "process_parent_command_line": "process.parent.command_line",
    "process_entity_id": "process.entity_id",
    "process_command_line": "process.command_line",
    "process_working_directory": "process.working_directory",
    "process_integrity_level": "process.integrity_level",
    "file_hash_sha256": "file.hash.sha256",
    "dns_question_name": "dns.question.name",
    "http_request_method": "http.request.method",
    "http_response_status_code": "http.response.status_code",
    "http_response_bytes": "http.response.bytes",
    "url_full": "url.full",
    "user_agent": "user_agent.original",
    "tls_server_name": "tls.client.server_name",
    "network_initiated": "network.initiated",
    "dll_path": "dll.path",
    "dll_signed": "dll.code_signature.signed",
    "dll_signature": "dll.code_signature.subject_name",
    "dll_signature_status": "dll.code_signature.status",
    "event_uid": "event.id",
    "src_file": "log.file.path",
}


def ecs_name(column: str) -> str:
    """The dotted ECS field name for a column (for output and SIEM conversion)."""
    if column in _ECS_OVERRIDES:
        return _ECS_OVERRIDES[column]
    return column.replace("_", ".", 1) if "_" in column else column


def create_table_sql(table: str = "events") -> str:
    """DDL for the events table (DuckDB dialect; also valid for most engines)."""
    cols = ",\n  ".join(f'"{name}" {typ}' for name, typ in EVENT_COLUMNS.items())
    return f"CREATE TABLE IF NOT EXISTS {table} (\n  {cols}\n)"
