#!/bin/sh
# test_import.sh - `field import`: JSON lines become records, one signed
# version each, typed and checked exactly as `field set` and `field
# finalize` check them; a file is imported whole or not at all, and the
# first bad line is named.
. "$(dirname "$0")/lib.sh"

init_home imp --inspector "Nguyễn Văn An"
cat >"$T/good.jsonl" <<'JSON'
{"template":"field-demo","subject":"4201","answers":{"inspection_date":"28/11/2026","households_total":"100","remarks":"Nguye\u0302\u0303n"}}

{"template":"field-demo","subject":"4201","status":"final","answers":{"inspection_date":"2026-11-28","planning_approved":"yes","road_total_km":"12,5","road_hardened_km":9,"households_total":100,"households_latrine":80}}
JSON
run "$F" import --json "$T/good.jsonl"
expect_rc "import exits 0" 0
expect_eq "... and counts the records" "$(json_get "$OUT" records)" 2
expect_eq "two versions, one per record" "$(nversions)" 2
expect_eq "a draft and a final" \
    "$(sql "SELECT group_concat(status, ' ') FROM (SELECT status FROM versions ORDER BY status);")" \
    "draft final"
expect_eq "values are normalised as typed: a comma decimal" \
    "$(sql "SELECT json_extract(body, '\$.answers.road_total_km') FROM versions WHERE status = 'final';")" \
    "12.5"
expect_eq "... a Vietnamese date" \
    "$(sql "SELECT json_extract(body, '\$.answers.inspection_date') FROM versions WHERE status = 'draft';")" \
    "2026-11-28"
expect_eq "... decomposed text to NFC" \
    "$(sql "SELECT json_extract(body, '\$.answers.remarks') FROM versions WHERE status = 'draft';")" \
    "Nguyễn"
run "$F" verify
expect_rc "the imported versions verify" 0

n=$(nversions)
refused() { # NAME EXIT MESSAGE LINES...
    _name=$1 _exit=$2 _msg=$3
    shift 3
    printf '%s\n' "$@" >"$T/bad.jsonl"
    run "$F" import "$T/bad.jsonl"
    expect_rc "$_name: exit $_exit" "$_exit"
    expect_stderr_contains "... naming it" "$_msg"
    expect_eq "... importing nothing" "$(nversions)" "$n"
}
G='{"template":"field-demo","subject":"4201"}'
refused "a bad third line keeps the first two out" 4 "line 3: households_total" \
    "$G" "$G" '{"template":"field-demo","subject":"4201","answers":{"households_total":"-3"}}'
refused "an unknown template" 3 "line 1: no template 'nope'" '{"template":"nope","subject":"4201"}'
refused "an unknown question" 3 "line 1:" '{"template":"field-demo","subject":"4201","answers":{"nope":"1"}}'
refused "a final record must be complete" 4 "line 2: cannot finalize" \
    "$G" '{"template":"field-demo","subject":"4201","status":"final"}'
refused "a status other than draft or final" 4 'line 1: "status" is draft or final' \
    '{"template":"field-demo","subject":"4201","status":"approved"}'
refused "not JSON" 4 "line 1:" 'garbage'
refused "no subject" 4 'line 1: a record needs "template" and "subject"' '{"template":"field-demo"}'
# A member that is not known is refused, not skipped: a misspelt
# "answers" would otherwise import an empty record without a word.
refused "a misspelt \"answers\"" 4 'line 2: unknown member "answer" (a line has "template", "subject", "status" and "answers")' \
    "$G" '{"template":"field-demo","subject":"4201","answer":{"households_total":"12"}}'
refused "a capitalised \"status\"" 4 'line 1: unknown member "Status"' \
    '{"template":"field-demo","subject":"4201","Status":"final"}'
refused "a template that is not a string" 4 'line 1: "template" must be a template id in quotes' \
    '{"template":{"id":"field-demo"},"subject":"4201"}'
refused "a unit code as a number" 4 'line 1: "subject" must be a unit code in quotes, such as "18133"' \
    '{"template":"field-demo","subject":4201}'
refused "a status that is not a string" 4 'line 1: "status" must be "draft" or "final", in quotes' \
    '{"template":"field-demo","subject":"4201","status":true}'
refused "a line that is not an object" 4 'line 1: a line must be a JSON object' '["field-demo","4201"]'
refused "a subject that is no unit code" 4 "line 1: --subject 'a b'" '{"template":"field-demo","subject":"a b"}'
refused "an answer that is neither text nor a number" 4 'line 1: answer "remarks" must be text or a number' \
    '{"template":"field-demo","subject":"4201","answers":{"remarks":["x"]}}'

# Lines are parsed and typed on several threads, in batches, ahead of the
# ones signed and stored: the first bad line in the file is still the one
# named, whichever stage refuses it, and nothing of the file is kept.
BAD_ANSWER='{"template":"field-demo","subject":"4201","answers":{"households_total":"-3"}}'
NOPE='{"template":"nope","subject":"4201"}'
refused "a bad answer before an unknown template: the answer is named" 4 \
    "line 2: households_total" "$G" "$BAD_ANSWER" "$NOPE"
refused "an unknown template before a bad answer: the template is named" 3 \
    "line 2: no template 'nope'" "$G" "$NOPE" "$BAD_ANSWER"
many() { # N - N good lines
    _i=0
    while [ "$_i" -lt "$1" ]; do
        printf '%s\n' "$G"
        _i=$((_i + 1))
    done
}
{ many 200; echo; echo "$BAD_ANSWER"; echo "$NOPE"; } >"$T/late.jsonl"
run "$F" import "$T/late.jsonl"
expect_rc "a bad line after 200 good ones and a blank line: exit 4" 4
expect_stderr_line "... one line, naming line 202" "field: import: line 202: households_total"
expect_eq "... importing nothing" "$(nversions)" "$n"
{ many 300; echo '{"template":"field-demo","subject":"4201","status":"final"}'; } >"$T/late.jsonl"
run "$F" import "$T/late.jsonl"
expect_rc "an incomplete final record after 300 good ones: exit 4" 4
expect_stderr_contains "... naming line 301" "line 301: cannot finalize"
expect_eq "... importing nothing" "$(nversions)" "$n"
many 300 >"$T/many.jsonl"
run "$F" import --json "$T/many.jsonl"
expect_rc "300 records at once" 0
expect_eq "... all of them" "$(json_get "$OUT" records) $(nversions)" "300 $((n + 300))"
expect_eq "... each the next of the device's chain" \
    "$(sql "SELECT count(*) FROM versions v JOIN versions p ON p.dseq = v.dseq - 1 AND v.prev = p.hash;")" \
    "$((n + 299))"
run "$F" verify
expect_rc "... and they verify" 0
n=$(nversions)
# more records than a batch of the export's walk: all of them, in order
run "$F" export --format json
expect_rc "... and export" 0
expect_eq "... every record, in the store's order" \
    "$("$PY" -c 'import json, sys
print(" ".join(r["record"] for r in json.load(open(sys.argv[1]))["records"]))' "$OUT")" \
    "$("$F" list --json | "$PY" -c 'import json, sys
print(" ".join(r["record"] for r in json.load(sys.stdin)))')"

printf '%s\n' "$G" | "$F" import - >"$OUT" 2>"$ERR"
expect_eq "standard input is read with -" "$(cat "$OUT")" "Imported 1 record"
run "$F" import
expect_rc "no file is a usage error" 2
run "$F" import "$T/missing.jsonl"
expect_rc "a missing file exits 3" 3
finish
