/*
 * cmd_table.c - the commands of `field`: name, handler, usage line and help
 * text, sorted by name (a unit test checks the order, the uniqueness and
 * that every entry has help).
 */
#include "cmd.h"

#include <stddef.h>

const struct cmd cmd_table[] = {
    {"approve", cmd_approve,
     "[--note TEXT] [--decision-number N --decision-date DATE] RECORD...",
     "A supervisor's approval of final records: one signed version per\n"
     "record, with the answers as they are. The device must be enrolled as\n"
     "a supervisor or admin; the server refuses a decision outside its\n"
     "scope. An approved record is closed.\n\n"
     "  --note TEXT             why, for the record's history\n"
     "  --decision-number N     the official decision that recognised the\n"
     "  --decision-date DATE    unit's tier (e.g. 1234/QĐ-UBND, 30/06/2025);\n"
     "                          the two go together"},
    {"attach", cmd_attach, "[--limit MB] [--json] RECORD QUESTION FILE...",
     "Add evidence photos to a record: each FILE (a JPEG or PNG photo, at\n"
     "most 20 MB unless --limit says otherwise) is checked, copied into the\n"
     "data directory under its hash, and one signed version answers the\n"
     "photo question QUESTION with it. The version signs each photo's size,\n"
     "type, and the time and GPS position its camera wrote (EXIF). QUESTION\n"
     "is NAME for a question outside repeat groups (one file), GROUP[ID].NAME\n"
     "for an existing item (one file), or GROUP[+].NAME for one new item per\n"
     "file. A file that is not a whole JPEG or PNG, is empty or is too large\n"
     "is refused, and nothing is written. 'field show' lists a record's\n"
     "photos and warns of one taken far away or on another day.\n\n"
     "  --limit MB   the most one file may be (default 20)"},
    {"bundle", cmd_bundle,
     "export [--subject CODE] [--record RECORD] [--no-photos] FILE | "
     "import [--no-photos] FILE",
     "Carry signed versions and their photos without a network (a USB stick\n"
     "from a village to the district office). 'export' writes this device's\n"
     "versions (all, or of one unit or record) and the photos they name that\n"
     "this device holds to a new FILE; 'import' verifies every version of\n"
     "FILE (hash and signature of its author) and every photo (its hash and\n"
     "signed size) and stores them all in one go, or refuses the whole file\n"
     "naming the bad version or photo. Imported versions and photos are\n"
     "relayed to the server by the next 'field sync'.\n\n"
     "  --no-photos   the versions only (a smaller file; photos go by sync)"},
    {"conflicts", cmd_conflicts, "[--json] [--lang vi|en] [RECORD]",
     "List the unresolved conflicts of one record or of every record: for\n"
     "each answer that two people changed concurrently, every value with its\n"
     "author, device, time and version; the value shown meanwhile is marked.\n"
     "Settle them with 'field resolve'."},
    {"enroll", cmd_enroll, "[--cacert FILE] [--pinned-pubkey SPEC] URL CODE",
     "Enroll this device with the server at URL (https://host[:port]) using\n"
     "the one-time CODE from 'field-server enroll-code'. The request is\n"
     "signed by the device key; the server, the role and scope it gave, and\n"
     "the TLS options are kept for 'field sync'. The device clock offset is\n"
     "corrected by the server's time.\n\n"
     "  --cacert FILE         trust the CA certificates in FILE (PEM) rather\n"
     "                        than the system's, for a server with a private CA\n"
     "  --pinned-pubkey SPEC  also require the server's public key to match:\n"
     "                        sha256//BASE64[;sha256//...] or a PEM/DER file\n\n"
     "TLS certificate and host name checks are always on. If the answer was\n"
     "lost but the server enrolled the key, running enroll again notices it.\n"
     "Exit 1 when the server cannot be reached, 4 when it refuses the code."},
    {"export", cmd_export,
     "--format json|csv|xlsx|geojson [--lang vi|en] [--template ID] "
     "[--status S] [--subject CODE] [--output FILE]",
     "Write records for other tools.\n\n"
     "  --format json     every record with its current answers and all its\n"
     "                    signed versions (hash, signature and the exact\n"
     "                    signed body), so the export can be verified elsewhere\n"
     "  --format csv      one row per record, one column per question of the\n"
     "                    template (RFC 4180; --template is needed when records\n"
     "                    of several templates match)\n"
     "  --format xlsx     a workbook for a spreadsheet: a sheet per template,\n"
     "                    a row per record, repeat groups on their own sheets,\n"
     "                    labels in Vietnamese (--lang en: English); needs\n"
     "                    --output\n"
     "  --format geojson  each record's position as a point (unit, template,\n"
     "                    status, tier result) for QGIS; records without a\n"
     "                    position are left out and counted on stderr\n"
     "  --template, --status, --subject  export only matching records\n"
     "  --output FILE     write to FILE (created; refused if it exists) rather\n"
     "                    than to standard output"},
    {"fill", cmd_fill, "[--lang vi|en] RECORD",
     "Walk through a draft record's checklist in the terminal, section by\n"
     "section: each relevant question with its label, hint and current\n"
     "answer. Every accepted answer is saved at once as a signed version.\n"
     "Select questions take the choice's number or name. Enter keeps the\n"
     "answer and goes on; :b goes back; :j NAME jumps to a question; :c\n"
     "clears the answer; :q stops (everything is already saved)."},
    {"finalize", cmd_finalize, "RECORD",
     "Mark a record final: a signed version with status \"final\". Refused,\n"
     "with every problem listed, while a relevant required question is\n"
     "unanswered or an answer breaks its constraint."},
    {"history", cmd_history, "[--json] RECORD",
     "Every version of a record, oldest first: its hash, author device,\n"
     "inspector, time, status and what it changed."},
    {"import", cmd_import, "[--json] FILE",
     "Start many records at once from FILE (or - for standard input): JSON\n"
     "lines, one record a line, {\"template\": ID, \"subject\": CODE,\n"
     "\"status\": \"draft\" or \"final\", \"answers\": {NAME: VALUE, ...}};\n"
     "ID and CODE in quotes, status draft when left out, and no other\n"
     "member (a misspelt one is an error, never skipped).\n"
     "Each record becomes one signed version, its answers typed and checked\n"
     "exactly as 'field set' checks them (NAME may use the repeat syntax,\n"
     "households[+].name) and, when final, complete as 'field finalize'\n"
     "requires. The file is imported whole or not at all; an error names\n"
     "its line."},
    {"init", cmd_init, "[--inspector NAME] [--passphrase]",
     "Set up this device: create the data directory, a new Ed25519 device\n"
     "key (mode 0600) and the local store, and install the built-in\n"
     "checklist templates.\n\n"
     "  --inspector NAME  the inspector's name, recorded in every version\n"
     "  --passphrase      protect the key with a passphrase (asked twice on\n"
     "                    the terminal, or taken from $FIELD_PASSPHRASE);\n"
     "                    setting $FIELD_PASSPHRASE protects it as well"},
    {"list", cmd_list, "[--json] [--status S] [--subject CODE] [--template ID]",
     "List records, most recently changed first, with their subject,\n"
     "template, status and number of versions. The options keep only the\n"
     "records that match."},
    {"new", cmd_new, "[--json] TEMPLATE --subject CODE [NAME=VALUE...]",
     "Start an inspection of the administrative unit CODE with the\n"
     "installed template TEMPLATE (id or hash), optionally with first\n"
     "answers. Prints the new record's id."},
    {"reject", cmd_reject, "--reason TEXT RECORD...",
     "A supervisor's rejection of final records, with the reason: one\n"
     "signed version per record. A rejected record is closed; start a new\n"
     "inspection to assess the unit again."},
    {"repair", cmd_repair, "",
     "Rebuild a damaged store (see 'field verify'): every version that still\n"
     "reads and verifies, the settings and the templates are copied into a\n"
     "fresh store; the damaged file is kept as field.db.damaged-TIMESTAMP.\n"
     "The next 'field sync' fetches again everything the server holds, so\n"
     "nothing that was synced is lost. (Sửa kho dữ liệu bị hỏng.)"},
    {"report", cmd_report,
     "[--unit CODE] [--as-of DATE] [--format json|csv|xlsx] [--output FILE] "
     "[--json]",
     "Báo cáo tiến độ: the progress report of the server (tiers by\n"
     "locality, criteria met / not met / unknown, progress against targets),\n"
     "for a device enrolled as supervisor or admin, as 'field-server report'\n"
     "computes it (docs/REPORTS.md). Without --format it is printed for\n"
     "people; --json or --format json prints the JSON, csv and xlsx are the\n"
     "server's files. The JSON is kept on the device: 'field ui' shows it\n"
     "offline, with its date.\n\n"
     "  --unit CODE     the unit reported on (default: the scope's unit)\n"
     "  --as-of DATE    the day the figures are for (default: today)\n"
     "  --format F      json, csv or xlsx (xlsx needs --output)\n"
     "  --output FILE   write to FILE, a new file (never over another)\n\n"
     "Exit 1 when the server cannot be reached, 2 for a bad option, 3 when\n"
     "the device is not enrolled or the unit is unknown, 4 when the server\n"
     "refuses (an inspector's device, a unit outside the scope) or FILE\n"
     "exists."},
    {"resolve", cmd_resolve, "RECORD [NAME=VALUE...]",
     "Settle a record's concurrent versions: one signed version whose parents\n"
     "are all of them, keeping each conflict's shown value unless NAME=VALUE\n"
     "gives another (same syntax as 'field set'). Nothing is lost: the other\n"
     "values stay in the record's history."},
    {"return", cmd_return, "--reason TEXT RECORD...",
     "Send final records back to their inspector for correction, saying\n"
     "what to correct: one signed version per record. After the next sync\n"
     "the inspector finds it with 'field list --status returned' and the\n"
     "reason in 'field show'; their next edit makes it a draft again, and\n"
     "'field finalize' puts it back in the supervisor's inbox."},
    {"review", cmd_review, "[--json] [--lang vi|en]",
     "A supervisor's inbox: the final records in this device's scope that\n"
     "wait for a decision, oldest first, with their unit, template,\n"
     "inspector and how many criteria are met, not met and unknown. Sync\n"
     "first to see what inspectors sent. Decide with 'field approve',\n"
     "'field reject' or 'field return'."},
    {"set", cmd_set, "RECORD NAME=VALUE...",
     "Answer questions of a record; all the answers of one call make one\n"
     "signed version. An empty VALUE clears the answer. Values are checked\n"
     "against the question's type and constraint and normalised (text to\n"
     "Unicode NFC, decimals as 54.78 or 54,78, dates as YYYY-MM-DD or\n"
     "DD/MM/YYYY, several choices separated by spaces). RECORD may be a\n"
     "unique prefix of at least 4 digits.\n\n"
     "Repeat groups: GROUP[+].NAME=VALUE adds an item (GROUP[+2]... a second\n"
     "one in the same call), GROUP[ID].NAME=VALUE changes an item, GROUP[ID]=\n"
     "deletes it (ID: its id or 4 or more of its first digits)."},
    {"show", cmd_show, "[--json] [--lang vi|en] RECORD",
     "Show a record: its template, subject, status and last change; every\n"
     "relevant question with its answer, section by section; then each\n"
     "criterion and indicator (met, not met or unknown), the thresholds\n"
     "used, and the overall tier. Unverified criteria text and unknown\n"
     "thresholds are marked."},
    {"sync", cmd_sync,
     "[--json] [--full] [--retries N] [--watch [--interval S]] "
     "[--no-attachments | --attachments | --attachments-of RECORD] "
     "[--cacert FILE] [--pinned-pubkey SPEC] | status [--json]",
     "Send the server every version it does not have yet and fetch every\n"
     "version in this device's scope it does not have, in batches, until\n"
     "both are done; with nothing to do that is one small request. A sync\n"
     "cut short (no signal, killed) is simply run again: nothing is lost or\n"
     "stored twice. Failed requests are retried with backoff. Versions the\n"
     "server refuses go on a dead-letter list and never hold up the rest.\n"
     "Prints one summary line (or, with --json, pushed, stored, duplicates,\n"
     "quarantined, refused, pulled, new, pending, bytes_up, bytes_down,\n"
     "requests, retries, attachments, seconds). A progress line appears on\n"
     "standard error when it is a terminal.\n\n"
     "Photos go after the versions, which never wait for them: every photo\n"
     "the server does not hold is uploaded in chunks, and a cut upload goes\n"
     "on from the last byte the server acknowledged.\n\n"
     "  --no-attachments   send no photo (a metered link); they wait\n"
     "  --attachments      also fetch the photos of the records on this device\n"
     "                     that it does not hold\n"
     "  --attachments-of RECORD  only that record's photos\n"
     "  --full             push everything again and pull from the start (for\n"
     "                     when the server was restored or the scope changed)\n"
     "  --retries N        retry a failed request N times (default 5, with\n"
     "                     backoff from 0.5 s doubling to 30 s); 0: fail fast\n"
     "  --watch            keep syncing: every --interval seconds (default 120)\n"
     "                     while the server answers, backing off from 10 s to\n"
     "                     15 min while it does not; stops on SIGINT/SIGTERM\n"
     "  --cacert, --pinned-pubkey  as for 'field enroll' (which remembers them)\n"
     "  status             the server, the last sync, how many versions wait,\n"
     "                     and the refused versions with the server's reasons\n\n"
     "Exit 1 when the server cannot be reached or what answered is not a field\n"
     "server (a captive portal), 4 when the server refuses this device."},
    {"template", cmd_template, "check FILE... | add FILE",
     "For people who write templates: 'check' loads each file and prints\n"
     "every problem with its place (exit 4 when there is one); 'add'\n"
     "installs a template on this device."},
    {"templates", cmd_templates, "[--json] [--lang vi|en]",
     "List the installed checklist templates: id, version, hash, number of\n"
     "questions and criteria, title, and the official criteria set each\n"
     "follows."},
    {"thresholds", cmd_thresholds,
     "[list] [--json] | draft TEMPLATE [--output FILE] | sign FILE "
     "[--output FILE]",
     "Ngưỡng của tỉnh: the province's values for a template's thresholds,\n"
     "signed by its administrator (docs/TEMPLATES.md, \"Thresholds as data\").\n"
     "Records are evaluated with the revision in force: the greatest one\n"
     "whose valid_from is not after today; a threshold it leaves null stays\n"
     "unknown.\n\n"
     "  list            the revisions this device holds (they come with\n"
     "                  'field sync'), the one in force marked\n"
     "  draft TEMPLATE  print a revision to fill in: every threshold of the\n"
     "                  template with the value in force, the next revision\n"
     "                  number, today as valid_from; write the decision in\n"
     "                  \"source\", delete what it does not set\n"
     "  sign FILE       sign the filled-in draft with this device's key (the\n"
     "                  device must be enrolled as admin) and print the\n"
     "                  signed revision, for 'field-server thresholds add'\n"
     "  --output FILE   write to FILE (created; refused if it exists)"},
    {"ui", cmd_ui, "[--listen ADDR] [--port N] [--pair] [--open] [--json]",
     "Giao diện web: serve the web app from this device (a browser on this\n"
     "machine, or a phone on the same network) until Ctrl-C (SIGINT) or\n"
     "SIGTERM, then exit 0. Prints the address it serves (--json: an object\n"
     "with url, listen, port and, off loopback, pairing_code). The device\n"
     "key's passphrase, when it has one, is asked once here; the browser\n"
     "never sees the key. Every save is one signed version, as 'field set'\n"
     "makes. See docs/UI.md.\n\n"
     "  --listen ADDR  the numeric address to listen on (default 127.0.0.1).\n"
     "                 Any other address needs pairing: the browser enters\n"
     "                 the one-time code printed here; wrong codes are\n"
     "                 refused and slowed down\n"
     "  --port N       the port (default 0: a free one)\n"
     "  --pair         ask for the pairing code on loopback too (a computer\n"
     "                 shared with other users, who can reach 127.0.0.1)\n"
     "  --open         open the page with xdg-open when it is installed\n\n"
     "Exit 1 when it cannot listen, 2 for a bad option, 3 when the data\n"
     "directory is not set up, 6 without the key's passphrase."},
    {"units", cmd_units, "[--json] [--on DATE | --all] | import FILE.csv",
     "List the administrative units valid today (or on DATE, or all with\n"
     "their validity), or import units from CSV with the header\n"
     "code,name,kind,parent_code,valid_from,valid_to and optionally\n"
     "in_programme (yes/no) and merged_into (docs/FORMATS.md); the file is\n"
     "checked whole against the stored units. When units are loaded,\n"
     "'field new' accepts only a subject that is a unit valid today."},
    {"verify", cmd_verify, "[--json]",
     "Re-check the whole store: the database file itself (SQLite's\n"
     "integrity and foreign key checks), every hash, every signature, that\n"
     "stored columns match the signed bodies, device chains (gaps, forks),\n"
     "parents and heads. Names each fault; exits 5 when any is found and\n"
     "then says how to recover ('field repair')."},
    {NULL, NULL, NULL, NULL},
};
