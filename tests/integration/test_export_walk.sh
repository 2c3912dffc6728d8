#!/bin/sh
# test_export_walk.sh - `field export` of more than it holds in memory:
# beyond a few megabytes the export is written as it is made (into the
# --output file's temporary file, or for standard output into a temporary
# file copied out at the end), so its memory stays bounded; the result is
# the same bytes either way, and a failure still writes nothing: no
# standard output, no file, no temporary file left behind.
. "$(dirname "$0")/lib.sh"

init_home big --inspector "Nguyễn Văn An"
"$PY" -c 'import json
r = "Kiểm tra đường, cống và nhà văn hoá. " * 80
for i in range(700):
    print(json.dumps({"template": "field-demo", "subject": "4201",
                      "answers": {"remarks": r + str(i)}}, ensure_ascii=False))' \
    >"$T/big.jsonl"
run "$F" import "$T/big.jsonl"
expect_rc "700 records of about 3 kB" 0
mkdir "$T/tmp"
TMPDIR="$T/tmp"
export TMPDIR

run "$F" export --format json
expect_rc "export --format json to standard output" 0
cp "$OUT" "$T/stdout.json"
expect_eq "... more than the 4 MB held in memory" \
    "$(test "$(wc -c <"$T/stdout.json")" -gt 4194304 && echo yes)" yes
expect_eq "... every record, in the store's order" \
    "$("$PY" -c 'import json, sys
print(" ".join(r["record"] for r in json.load(open(sys.argv[1]))["records"]))' "$T/stdout.json")" \
    "$("$F" list --json | "$PY" -c 'import json, sys
print(" ".join(r["record"] for r in json.load(sys.stdin)))')"
run "$F" export --format json --output "$T/out.json"
expect_rc "export --format json --output" 0
expect_eq "... the same bytes as on standard output" \
    "$(file_sum "$T/out.json")" "$(file_sum "$T/stdout.json")"
for f in csv geojson; do
    run "$F" export --format $f
    cp "$OUT" "$T/stdout.$f"
    run "$F" export --format $f --output "$T/out.$f"
    expect_eq "export --format $f: the same bytes on standard output and in a file" \
        "$(file_sum "$T/out.$f")" "$(file_sum "$T/stdout.$f")"
done
expect_error "an existing file is not overwritten" 4 export \
    "$F" export --format json --output "$T/out.json"
expect_eq "... and it is left as it was" \
    "$(file_sum "$T/out.json")" "$(file_sum "$T/stdout.json")"
expect_eq "no temporary file is left" "$(ls -A "$T/tmp") $(ls -A "$T" | grep -c '^\.out\.json\.')" " 0"

# The last record tampered with: found after megabytes were written.
LAST=$(sql "SELECT record FROM versions ORDER BY seq DESC LIMIT 1;")
L12=$(printf '%.12s' "$LAST")
sql "UPDATE versions SET body = CAST(replace(CAST(body AS TEXT), 'Kiểm tra', 'Kiểm trx') AS BLOB) WHERE record = '$LAST';"
expect_error "a tampered last record: to standard output" 5 export \
    "$F" export --format json
expect_stderr_contains "... named" "a version of record $L12 does not verify"
expect_error "... to a file" 5 export "$F" export --format json --output "$T/bad.json"
expect_eq "... which is not made" "$(ls "$T/bad.json" 2>/dev/null)" ""
expect_eq "... and no temporary file is left" "$(ls -A "$T/tmp") $(ls -A "$T" | grep -c '^\.bad\.json\.')" " 0"
finish
