/*
 * cmd_table.c - the commands of `field`: name, handler, usage line and help
 * text, sorted by name (a unit test checks the order, the uniqueness and
 * that every entry has help).
 */
#include "cmd.h"

#include <stddef.h>

const struct cmd cmd_table[] = {
    {"export", cmd_export,
     "--format json|csv [--template ID] [--status S] [--subject CODE] "
     "[--output FILE]",
     "Write records for other tools.\n\n"
     "  --format json  every record with its current answers and all its\n"
     "                 signed versions (hash, signature and the exact signed\n"
     "                 body), so the export can be verified elsewhere\n"
     "  --format csv   one row per record, one column per question of the\n"
     "                 template (RFC 4180; --template is needed when records\n"
     "                 of several templates match)\n"
     "  --template, --status, --subject  export only matching records\n"
     "  --output FILE  write to FILE (created; refused if it exists) rather\n"
     "                 than to standard output"},
    {"finalize", cmd_finalize, "RECORD",
     "Mark a record final: a signed version with status \"final\". Refused,\n"
     "with every problem listed, while a required question is unanswered."},
    {"history", cmd_history, "[--json] RECORD",
     "Every version of a record, oldest first: its hash, author device,\n"
     "inspector, time, status and what it changed."},
    {"init", cmd_init, "[--inspector NAME] [--passphrase]",
     "Set up this device: create the data directory, a new Ed25519 device\n"
     "key (mode 0600) and the local store, and install the built-in\n"
     "checklist templates.\n\n"
     "  --inspector NAME  the inspector's name, recorded in every version\n"
     "  --passphrase      protect the key with a passphrase (asked twice on\n"
     "                    the terminal, or taken from $FIELD_PASSPHRASE);\n"
     "                    setting $FIELD_PASSPHRASE protects it as well"},
    {"list", cmd_list,
     "[--json] [--status S] [--subject CODE] [--template ID]",
     "List records, most recently changed first, with their subject,\n"
     "template, status and number of versions. The options keep only the\n"
     "records that match."},
    {"new", cmd_new, "[--json] TEMPLATE --subject CODE [NAME=VALUE...]",
     "Start an inspection of the administrative unit CODE with the\n"
     "installed template TEMPLATE (id or hash), optionally with first\n"
     "answers. Prints the new record's id."},
    {"set", cmd_set, "RECORD NAME=VALUE...",
     "Answer questions of a record; all the answers of one call make one\n"
     "signed version. An empty VALUE clears the answer. Values are checked\n"
     "against the question's type and normalised (text to Unicode NFC,\n"
     "decimals as 54.78 or 54,78, dates as YYYY-MM-DD or DD/MM/YYYY,\n"
     "several choices separated by spaces). RECORD may be a unique prefix\n"
     "of at least 4 digits."},
    {"show", cmd_show, "[--json] [--lang vi|en] RECORD",
     "Show a record: its template, subject, status, last change and every\n"
     "question with its answer, section by section."},
    {"templates", cmd_templates, "[--json]",
     "List the installed checklist templates: id, version, hash, title and\n"
     "number of questions."},
    {"verify", cmd_verify, "[--json]",
     "Re-check the whole store: every hash, every signature, that stored\n"
     "columns match the signed bodies, device chains (gaps, forks),\n"
     "parents and heads. Names each fault; exits 5 when any is found."},
    {NULL, NULL, NULL, NULL},
};
