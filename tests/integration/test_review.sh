#!/bin/sh
# test_review.sh - a supervisor's review with the real programs: an
# inspector finalizes and syncs; the supervisor's inbox lists the record
# with its criteria summary; a return with its reason reaches the
# inspector, whose correction and finalize put it back in the inbox; an
# approval with its recognition decision closes it; a rejection needs a
# reason; decisions on drafts, closed or unknown records are refused; an
# inspector's device may not decide; two supervisors deciding differently
# offline leave a conflict that a new decision settles; a decision outside
# the signer's scope is refused by the server even when relayed; a device
# not enrolled is told so (exit 3); and a decision carried in a bundle
# reaches the server.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet
province 4201 4202

enroll_device an "Nguyễn Văn An"
enroll_device sup "Trần Thị Bình" 4201 supervisor
enroll_device sup2 "Lê Văn Cường" 4201 supervisor
enroll_device far "Phạm Thị Dung" 4202 supervisor

sync_ok() { # NAME
    home "$1"
    run "$F" sync --retries 0
    expect_rc "$1 syncs" 0
}

complete() { # NAME=VALUE arguments that make a field-demo record complete
    echo inspection_date=2026-11-28 planning_approved=yes road_total_km=12 \
        road_hardened_km=9 households_total=100 households_latrine=80
}

status_of() { # RECORD - the merged status on the current device
    "$F" show --json "$1" >"$T/.st" 2>&1
    json_get "$T/.st" status
}

# --- an inspection goes to the supervisor -------------------------------------

home an
R=$(new_record 4201 $(complete))
D=$(new_record 4201 inspection_date=2026-11-29)
run "$F" finalize "$R"
expect_rc "the inspector finalizes" 0
n=$(nversions)
run "$F" approve "$R"
expect_rc "an inspector's device may not approve" 4
expect_stderr_contains "... saying why" "enrolled as inspector"
expect_eq "... writing nothing" "$(nversions)" "$n"
sync_ok an

# A device that was never enrolled has no role to decide with: "not
# found", as for `field sync` and `field report` on such a device.
init_home lone --inspector "Võ Thị Giang"
run "$F" review
expect_rc "a device not enrolled: review exits 3" 3
expect_stderr_contains "... saying so" "this device is not enrolled"
run "$F" approve "$R"
expect_rc "... and approve exits 3" 3

sync_ok sup
run "$F" review --json
expect_rc "review --json exits 0" 0
expect_eq "the inbox holds the final record, not the draft" \
    "$("$PY" -c 'import json,sys; print([r["record"] for r in json.load(open(sys.argv[1]))])' "$OUT")" \
    "['$R']"
expect_eq "... with its unit, template and inspector" \
    "$(json_get "$OUT" 0.subject) $(json_get "$OUT" 0.template) $(json_get "$OUT" 0.inspector)" \
    '"4201" "field-demo" "Nguyễn Văn An"'
run "$F" review --lang en
expect_stdout_contains "review for people names the inspector" "Nguyễn Văn An"

# --- returned, corrected, approved --------------------------------------------

run "$F" return "$R"
expect_rc "return without a reason is a usage error" 2
expect_stderr_contains "... naming what is missing" "--reason"
run "$F" return "$D" --reason "x"
expect_rc "a draft is not returned" 4
expect_stderr_contains "... saying it is a draft" "is a draft"
run "$F" approve 0123456789abcdef
expect_rc "an unknown record exits 3" 3
n=$(nversions)
run "$F" return "$R" --reason "Thiếu ảnh bảng quy hoạch; đo lại đường"
expect_rc "the supervisor returns the record" 0
expect_eq "... in one version" "$(nversions)" $((n + 1))
expect_eq "... which is returned" "$(status_of "$R")" '"returned"'
run "$F" review --json
expect_eq "a returned record leaves the inbox" "$(cat "$OUT")" "[]"
run "$F" approve "$R"
expect_rc "a returned record waits for its inspector" 4
sync_ok sup

sync_ok an
run "$F" list --status returned --json
expect_eq "the inspector finds it returned" \
    "$("$PY" -c 'import json,sys; print([r["record"] for r in json.load(open(sys.argv[1]))])' "$OUT")" \
    "['$R']"
run "$F" show --lang en "$R"
expect_stdout_contains "show gives the reason" "Thiếu ảnh bảng quy hoạch; đo lại đường"
expect_stdout_contains "... and who returned it" "Trần Thị Bình"
run "$F" set "$R" road_hardened_km=10
expect_rc "the inspector corrects it" 0
expect_eq "... which makes it a draft again" "$(status_of "$R")" '"draft"'
run "$F" show --json "$R"
expect_eq "... still showing why it was returned" \
    "$(json_get "$OUT" review.status) $(json_get "$OUT" review.review.note)" \
    '"returned" "Thiếu ảnh bảng quy hoạch; đo lại đường"'
run "$F" finalize "$R"
expect_rc "... and finalizes it" 0
sync_ok an

sync_ok sup
run "$F" review --json
expect_eq "the corrected record is back in the inbox" "$(json_get "$OUT" 0.record)" "\"$R\""
run "$F" approve "$R" --decision-number "1234/QĐ-UBND"
expect_rc "a decision number needs its date" 2
run "$F" approve "$R" --note "Đạt" --decision-number "1234/QĐ-UBND" --decision-date 30/06/2025
expect_rc "the supervisor approves" 0
expect_eq "... approved" "$(status_of "$R")" '"approved"'
run "$F" show --json "$R"
expect_eq "the approval carries its recognition decision" \
    "$(json_get "$OUT" review.review.recognition)" '{"date":"2025-06-30","number":"1234/QĐ-UBND"}'
run "$F" reject "$R" --reason "sai"
expect_rc "an approved record is closed" 4
expect_stderr_contains "... saying so" "already approved"
run "$F" history "$R"
expect_stdout_contains "history shows the return's reason" "Thiếu ảnh bảng quy hoạch"
expect_stdout_contains "... the approval's note" '"Đạt"'
expect_stdout_contains "... and the recognition" "recognition: 1234/QĐ-UBND, 2025-06-30"
sync_ok sup
sync_ok an
expect_eq "the inspector sees the approval" "$(status_of "$R")" '"approved"'
run "$F" set "$R" remarks=x
expect_rc "the inspector cannot edit an approved record" 4

# --- rejection ----------------------------------------------------------------

home an
Q=$(new_record 4201 $(complete))
run "$F" finalize "$Q"
sync_ok an
sync_ok sup
run "$F" reject "$Q"
expect_rc "reject without a reason is a usage error" 2
run "$F" reject "$Q" --reason "Hồ sơ không hợp lệ"
expect_rc "the supervisor rejects" 0
expect_eq "... rejected" "$(status_of "$Q")" '"rejected"'
sync_ok sup

# --- two supervisors cross ----------------------------------------------------

home an
X=$(new_record 4201 $(complete))
run "$F" finalize "$X"
sync_ok an
sync_ok sup
sync_ok sup2
home sup
run "$F" approve "$X"
expect_rc "one supervisor approves offline" 0
home sup2
run "$F" return "$X" --reason "Cần kiểm tra lại"
expect_rc "the other returns it offline" 0
sync_ok sup
sync_ok sup2
sync_ok sup
run "$F" conflicts --json "$X"
expect_eq "the crossed decisions are a conflict on the status" \
    "$("$PY" -c 'import json,sys
c = json.load(open(sys.argv[1]))
print([k["path"] for k in c], sorted(x["value"] for x in c[0]["candidates"]))' "$OUT")" \
    "['status'] ['approved', 'returned']"
run "$F" resolve "$X"
expect_rc "resolve leaves crossed decisions to a supervisor" 4
run "$F" approve "$X" --note "Đã thống nhất"
expect_rc "a new decision settles them" 0
run "$F" conflicts --json "$X"
expect_eq "... no conflict left" "$(cat "$OUT")" "[]"
expect_eq "... approved" "$(status_of "$X")" '"approved"'

# --- outside the scope, and in a bundle ---------------------------------------

home an
Y=$(new_record 4201 $(complete))
run "$F" finalize "$Y"
run "$F" bundle export --record "$Y" "$T/y.json"
expect_rc "the inspector exports a bundle" 0
home far
run "$F" bundle import "$T/y.json"
expect_rc "a supervisor of another commune imports it" 0
run "$F" approve "$Y"
expect_rc "... and approves it on the device" 0
run "$F" bundle export --record "$Y" "$T/far.json"
home sup
run "$F" bundle import "$T/far.json"
expect_rc "a supervisor in scope carries that approval" 0
run "$F" sync --retries 0
expect_rc "the relay syncs" 0
expect_eq "the server refuses the approval signed outside its scope" \
    "$(sqls "SELECT count(*) FROM versions WHERE record = '$Y' AND status = 'approved';")" 0
run "$F" sync status --json
expect_stdout_contains "... and the device keeps it on its dead-letter list" "out_of_scope"

home an
Z=$(new_record 4201 $(complete))
run "$F" finalize "$Z"
sync_ok an
sync_ok sup
run "$F" approve "$Z" --note "Đạt"
expect_rc "the supervisor in scope approves offline" 0
run "$F" bundle export --record "$Z" "$T/ok.json"
home an
run "$F" bundle import "$T/ok.json"
run "$F" sync --retries 0
expect_rc "the inspector's device relays the approval" 0
expect_eq "the server stores the approval carried in a bundle" \
    "$(sqls "SELECT count(*) FROM versions WHERE record = '$Z' AND status = 'approved';")" 1

for d in an sup sup2 far; do
    home $d
    run "$F" verify
    expect_rc "$d verifies" 0
done
finish
