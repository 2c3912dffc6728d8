/*
 * cmd_table.c - the commands of field-server: name, handler, usage line
 * and help text, sorted by name (tests/unit/test_srv_commands.c checks the
 * order, the uniqueness and that every entry has usage and help).
 */
#include "command.h"

#include <stddef.h>

/*
 * Each help text is a paragraph, then, after a blank line, the command's
 * own options; srv_cmd_print_help() adds --db and --config, which every
 * command has, as field lays out its help.
 */
const struct srv_cmd srv_cmd_table[] = {
    {"audit", srv_cmd_audit, "[--json] [--kind KIND]",
     "Show the alarms and the audit log: forks and gaps in device chains\n"
     "(computed from the stored versions), then every logged event:\n"
     "enrolments, revocations, refused pushes, quarantined and released\n"
     "versions, flagged versions. Exits 5 when there is a chain alarm.\n\n"
     "  --kind KIND            only log entries of KIND (refused, revoked,\n"
     "                         template, ...)"},
    {"backup", srv_cmd_backup, "FILE",
     "Copy the database to FILE (which must not exist) with SQLite's online\n"
     "backup, while the server keeps serving. The copy gets a new epoch, so\n"
     "that devices reconcile if it is ever restored. On PostgreSQL: checks\n"
     "the schema version and runs pg_dump --format=custom into FILE (or, when\n"
     "pg_dump is not on PATH, says the command to run); after pg_restore,\n"
     "run new-epoch. The whole photo files go to FILE.attachments/."},
    {"devices", srv_cmd_devices, "[list] [--json] | revoke DEVICE",
     "List enrolled devices (key, role, state, inspector, scope), or revoke\n"
     "one by its key or a unique prefix of at least 4 hex digits. A revoked\n"
     "device's requests are refused at once, and versions it signed are\n"
     "quarantined rather than stored."},
    {"enroll-code", srv_cmd_enroll_code,
     "--inspector NAME --role inspector|supervisor|admin --scope UNIT... "
     "[--ttl HOURS]",
     "Print a one-time enrollment code for a new device. The device sends it\n"
     "with its public key to POST /v1/enroll and is enrolled with this name,\n"
     "role and scope (the units and everything below them; an admin covers\n"
     "every unit). Only the code's hash is stored.\n\n"
     "  --inspector NAME       the inspector's name, at most 200 bytes\n"
     "  --role ROLE            inspector, supervisor or admin\n"
     "  --scope UNIT...        unit codes, required but for an admin; once\n"
     "                         units are imported, each must be one of them\n"
     "  --ttl HOURS            the code expires after HOURS (default 72)"},
    {"export", srv_cmd_export,
     "--format json|csv|xlsx|geojson [--lang vi|en] [--template ID] "
     "[--status S] [--unit CODE] [--output FILE]",
     "Write the records the server holds for an office or a map, each as\n"
     "the merge of its versions: the formats of 'field export' (json with\n"
     "every signed version, csv of one template, an xlsx workbook with a\n"
     "sheet per template and per repeat group, geojson points with unit,\n"
     "status and tier). Devices of supervisors ask GET /v1/export.\n\n"
     "  --format F             json, csv, xlsx or geojson\n"
     "  --lang vi|en           labels of the workbook and the map (vi)\n"
     "  --template ID          only records of this template\n"
     "  --status S             only records whose merged status is S\n"
     "  --unit CODE            only records of this unit and those below\n"
     "  --output FILE          write FILE (created; refused if it exists);\n"
     "                         needed for xlsx"},
    {"init", srv_cmd_init, "",
     "Create the database (schema/server.sql, WAL), give it an epoch and\n"
     "install the built-in checklist templates."},
    {"migrate", srv_cmd_migrate,
     "--from sqlite:FILE --to postgresql://... [--attachments DIR] [--json]",
     "Move a SQLite server database to an empty PostgreSQL database losing\n"
     "nothing: every row of every table as it is (versions keep their seq,\n"
     "the database its epoch, so devices' cursors stay valid), in one\n"
     "transaction that is committed only after every version's signature\n"
     "and hash verify on the target and both sides read the same. Stop the\n"
     "SQLite server first. Exit 4: the target is not empty; 5: the source is\n"
     "not a field-server database or a check failed; 7: a field-server\n"
     "serve still runs on the source (it holds FILE.lock).\n\n"
     "  --from LOCATION        sqlite:FILE or a path\n"
     "  --to LOCATION          postgresql://... (an empty database)\n"
     "  --attachments DIR      where the photo files go (new; default\n"
     "                         attachments/ in the working directory)"},
    {"new-epoch", srv_cmd_new_epoch, "",
     "Give the database a new epoch (noted in the audit log) after a\n"
     "restore that did not (pg_restore of a PostgreSQL dump, a file copied\n"
     "back): every device's cursor is then answered \"reset\" and devices\n"
     "reconcile, pushing again what the restored copy lacks."},
    {"record", srv_cmd_record, "[--json] RECORD",
     "Show one record as the province sees it: the deterministic merge of\n"
     "every version stored here (the same state every device holding these\n"
     "versions shows), with its status, heads and each unresolved conflict\n"
     "with every value and its author. Every version is verified again."},
    {"report", srv_cmd_report,
     "[--unit CODE] [--as-of DATE] [--lang vi|en] [--json | --csv | --xlsx "
     "FILE]",
     "The progress report of a unit (the province by default) as of a date\n"
     "(today by default), from approved assessments only: units meeting\n"
     "each tier, count / total and share, with the targets and the distance\n"
     "to them; the same per locality; per criterion how many units meet it,\n"
     "do not or are unknown; the units that miss a tier and the criteria\n"
     "they miss. 'As of' counts what the server received by the end of that\n"
     "day, never a device's clock. Definitions: docs/REPORTS.md.\n\n"
     "  --unit CODE    the unit reported on, with everything below it\n"
     "  --as-of DATE   YYYY-MM-DD or DD/MM/YYYY\n"
     "  --lang vi|en   labels and number format (Vietnamese by default)\n"
     "  --json         one JSON document\n"
     "  --csv          one CSV table (RFC 4180)\n"
     "  --xlsx FILE    a spreadsheet for the office (a new file)"},
    {"serve", srv_cmd_serve,
     "[--listen ADDR] [--port N] [--tls-cert PEM --tls-key PEM] [...]",
     "Serve the API until SIGTERM or SIGINT, then stop accepting, let the\n"
     "requests in flight finish and checkpoint the database. Each option\n"
     "is also a setting of the configuration file, under the same name.\n\n"
     "  --listen ADDR          numeric address (default 127.0.0.1)\n"
     "  --port N               port (default 8080; 0 picks a free one)\n"
     "  --port-file FILE       write the bound port to FILE\n"
     "  --tls-cert, --tls-key  serve HTTPS with these PEM files\n"
     "  --threads N            worker threads (default two per core)\n"
     "  --max-body SIZE        largest request body (default 16M)\n"
     "  --max-inflated SIZE    largest body after gunzip (default 64M)\n"
     "  --skew SECONDS         accepted clock difference (default 300)\n"
     "  --request-timeout S    to receive a whole request (default 60)\n"
     "  --idle-timeout S       close idle connections (default 30)\n"
     "  --max-connections N    (default 1000)\n"
     "  --per-ip-connections N (default 64; 0: no limit, behind a proxy)\n"
     "  --header-timeout S     to receive a request's headers (default 10)\n"
     "  --max-buffered SIZE    bodies held at once, all clients (default "
     "256M)\n"
     "  --enroll-per-ip N      enrolment attempts per address per skew\n"
     "                         window (default 60; 0: no limit)\n"
     "  --shutdown-grace S     wait for requests in flight (default 30)\n"
     "  --partial-days N       keep unfinished attachment uploads N days\n"
     "                         (default 7)\n"
     "  --quiet                no request log on standard error"},
    {"targets", srv_cmd_targets, "[list] [--json] | import FILE.csv",
     "List the targets the province set, in the order they were loaded, or\n"
     "import them from CSV with the header unit,tier,count,from,due,source:\n"
     "at least COUNT units of UNIT meeting TIER (a tier code such as\n"
     "xa-ntm-nang-cao) from FROM, due by DUE, set by the document SOURCE.\n"
     "The whole file is checked before anything is stored; every unit must\n"
     "be loaded; a target of the same unit, tier and from is replaced."},
    {"templates", srv_cmd_templates, "[list] [--json] | add FILE",
     "List the installed checklist templates, or add one from a JSON file.\n"
     "Versions quarantined for want of the template are stored then."},
    {"thresholds", srv_cmd_thresholds, "[list] [--json] | add SIGNED.json",
     "Ngưỡng của tỉnh: list the province's threshold revisions, or add one\n"
     "signed with 'field thresholds sign'. It is stored only when its\n"
     "signature verifies, its author is an enrolled, unrevoked admin\n"
     "device, its template is installed here, its values fit the template\n"
     "and its revision number is greater than every one stored for that\n"
     "template; otherwise one line says what is wrong and nothing is\n"
     "stored. Devices receive it with their next sync, and evaluate\n"
     "records with the revision in force (the greatest whose valid_from\n"
     "has come)."},
    {"units", srv_cmd_units,
     "[list] [--json] [--on DATE | --all] | import FILE.csv",
     "List the administrative units valid today, or import them from CSV\n"
     "with the header code,name,kind,parent_code,valid_from,valid_to and\n"
     "optionally in_programme (yes/no) and merged_into (the files 'field\n"
     "units import' reads). The whole file is checked against the stored\n"
     "units before anything is stored; a row of a stored code and\n"
     "valid_from replaces it, and a code may come again for another period.\n\n"
     "  --on DATE              the units valid on DATE (YYYY-MM-DD)\n"
     "  --all                  every version of every unit, with its dates"},
    {NULL, NULL, NULL, NULL},
};
