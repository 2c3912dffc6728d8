#!/bin/sh
# test_server_data.sh - what a signed version carries that no conforming
# device writes (issue 13, finding 6). A 200 KB text answer and a text
# answer that is not Unicode NFC are stored (signed field data is never
# refused for its content) but flagged and audited; a version whose
# template id does not match the template its hash names is kept in
# quarantine as evidence, never stored as a version; so is a version that
# names a parent of another record, which would leave its record with a
# version whose parent is outside it: a record that cannot be merged, and
# an export of every record that stops at it.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet
province 4201
enroll ann inspector 4201
srv templates --json
TPL=$("$PY" -c 'import json,sys; print([t["hash"] for t in json.load(open(sys.argv[1]))["templates"] if t["id"]=="field-demo"][0])' "$OUT")

R=01936a1b2c3d4e5f60718293a4b5c6d7
"$PY" -c 'import json,sys; json.dump({"remarks": "x" * 200000}, open(sys.argv[1], "w"))' "$T/big.json"
version ann "$T/big" --record "$R" --dseq 1 --subject 4201 --template-id field-demo \
    --template-hash "$TPL" --answers-file "$T/big.json"
H1=$("$C" hash "$T/big")
# "Nguyễn" typed decomposed: e + combining circumflex + combining tilde.
NFD=$("$PY" -c 'import unicodedata; print(unicodedata.normalize("NFD", "Nguyễn"))')
version ann "$T/nfd" --record "$R" --dseq 2 --prev "$H1" --parent "$H1" --subject 4201 \
    --template-id field-demo --template-hash "$TPL" --answers "{\"remarks\":\"$NFD\"}"
H2=$("$C" hash "$T/nfd")
version ann "$T/mis" --record 01936a1b2c3d4e5f60718293a4b5c6d8 --dseq 3 --prev "$H2" \
    --subject 4201 --template-id ntm-xa-2026 --template-hash "$TPL" --answers '{}'
H3=$("$C" hash "$T/mis")
sync_as ann "$T/big" "$T/nfd" "$T/mis"
expect_status "the push is answered" 200
expect_eq "a 200 KB text answer is stored" "$(result 0)" "stored"
expect_eq "... and flagged" \
    "$(sqls "SELECT CAST(flag LIKE 'remarks: answer of the wrong type or not in normal form%' AS integer) FROM versions WHERE hash = '$H1';")" 1
expect_eq "non-NFC text is stored" "$(result 1)" "stored"
expect_eq "... and flagged" \
    "$(sqls "SELECT CAST(flag LIKE 'remarks: %normal form%' AS integer) FROM versions WHERE hash = '$H2';")" 1
expect_eq "both flags are audited" \
    "$(sqls "SELECT count(*) FROM audit WHERE kind = 'flagged' AND subject IN ('$H1', '$H2');")" 2
expect_eq "a template id that disagrees with its hash is quarantined" \
    "$(result 2)" "quarantined/template_mismatch"
expect_eq "... not stored as a version" \
    "$(sqls "SELECT count(*) FROM versions WHERE hash = '$H3';")" 0
expect_eq "... kept as evidence" \
    "$(sqls "SELECT reason FROM quarantine WHERE hash = '$H3';")" template_mismatch
expect_eq "... and audited" \
    "$(sqls "SELECT count(*) FROM audit WHERE kind = 'quarantined' AND subject = '$H3' AND detail LIKE '%does not match%';")" 1

R2=01936a1b2c3d4e5f60718293a4b5c6d9
version ann "$T/first" --record "$R2" --dseq 4 --prev "$H3" --subject 4201 \
    --template-id field-demo --template-hash "$TPL" --answers '{}'
H4=$("$C" hash "$T/first")
version ann "$T/cross" --record "$R2" --dseq 5 --prev "$H4" --parent "$H2" \
    --subject 4201 --template-id field-demo --template-hash "$TPL" --answers '{}'
H5=$("$C" hash "$T/cross")
sync_as ann "$T/first" "$T/cross"
expect_eq "a record's first version is stored" "$(result 0)" "stored"
expect_eq "a version naming a parent of another record is quarantined" \
    "$(result 1)" "quarantined/record_mismatch"
expect_eq "... not stored as a version" \
    "$(sqls "SELECT count(*) FROM versions WHERE hash = '$H5';")" 0
expect_eq "... and audited" \
    "$(sqls "SELECT count(*) FROM audit WHERE kind = 'quarantined' AND subject = '$H5' AND detail LIKE '%another record%';")" 1
srv export --format json
expect_rc "every record still exports" 0
expect_stdout_contains "... the record it named a parent in among them" "$R"
finish
