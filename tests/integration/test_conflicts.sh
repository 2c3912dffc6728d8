#!/bin/sh
# test_conflicts.sh - two inspectors edit the same inspection offline, sync
# through the real field-server, and every replica shows the same merged
# record: answers changed on one side only are combined, the answer both
# changed is one conflict with both values, their authors and versions;
# nobody settles it by accident (`set` is refused), `field resolve` writes
# one version on both heads, and after a sync every replica has converged.
. "$(dirname "$0")/server_lib.sh"

start_server main --quiet
province 4201

sync_ok() { # NAME
    home "$1"
    run "$F" sync --retries 0
    expect_rc "$1 syncs" 0
}

merged() { # NAME RECORD - answers, heads, conflicts of show --json, one line
    home "$1"
    "$F" show --json "$2" >"$T/.m" 2>&1
    "$PY" -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps([d["answers"], d["heads"], d["conflicts"], d["status"]],
                 ensure_ascii=False, sort_keys=True))' "$T/.m"
}

enroll_device an "Nguyễn Văn An"
enroll_device binh "Trần Thị Bình"
home an
R=$(new_record 4201 inspection_date=2026-11-28 households_total=100 households_latrine=80)
sync_ok an
sync_ok binh

# Offline, both edit: one answer on each side only, and one on both.
home an
run "$F" set "$R" households_latrine=85 "remarks=An đã kiểm tra"
expect_rc "An edits offline" 0
home binh
run "$F" set "$R" households_latrine=90 "waste=sorted"
expect_rc "Bình edits offline" 0
sync_ok an
sync_ok binh
sync_ok an

expect_eq "both replicas show the same merged record" "$(merged an "$R")" "$(merged binh "$R")"
home an
run "$F" show --json "$R"
expect_eq "one-sided answers are combined" \
    "$(json_get "$OUT" answers.remarks) $(json_get "$OUT" answers.waste)" \
    '"An đã kiểm tra" ["sorted"]'
expect_eq "two heads" "$(json_get "$OUT" heads | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')" 2
expect_eq "exactly one conflict, on the answer both changed" \
    "$(json_get "$OUT" conflicts.0.path) $(json_get "$OUT" conflicts.1)" \
    '"households_latrine" <missing>'
run "$F" conflicts --json
expect_rc "conflicts --json exits 0" 0
expect_eq "both values are kept, with their inspectors" \
    "$("$PY" -c 'import json,sys
c = json.load(open(sys.argv[1]))[0]
print(sorted((k["value"], k["inspector"]) for k in c["candidates"]))' "$OUT")" \
    "[(85, 'Nguyễn Văn An'), (90, 'Trần Thị Bình')]"
run "$F" conflicts --lang en
expect_stdout_contains "conflicts for people marks the shown value" "(shown)"

n=$(nversions)
run "$F" set "$R" remarks=x
expect_rc "set is refused while a conflict is unresolved" 4
expect_stderr_contains "... and says how to settle it" "field resolve"
expect_eq "... writing nothing" "$(nversions)" "$n"

"$S" record --db "$DBS" --json "$R" >"$T/srv.json"
expect_eq "the server merges the same record: the same conflict" \
    "$(json_get "$T/srv.json" conflicts) $(json_get "$T/srv.json" heads)" "1 2"
expect_eq "... and the same answers as the devices" \
    "$(json_get "$T/srv.json" answers)" "$(home an; "$F" show --json "$R" >"$T/a.json"; json_get "$T/a.json" answers)"
home an

run "$F" resolve "$R" households_latrine=88
expect_rc "resolve exits 0" 0
expect_eq "resolve writes one version" "$(nversions)" $((n + 1))
expect_eq "its parents are both heads" \
    "$(sql "SELECT json_array_length(body, '\$.parents') FROM versions ORDER BY seq DESC LIMIT 1;")" 2
run "$F" resolve "$R"
expect_rc "nothing left to resolve exits 4" 4

sync_ok an
sync_ok binh
expect_eq "after sync both replicas are identical" "$(merged an "$R")" "$(merged binh "$R")"
home binh
run "$F" show --json "$R"
expect_eq "the resolution holds everywhere, nothing else lost" "$(json_get "$OUT" answers)" \
    '{"households_latrine":88,"households_total":100,"inspection_date":"2026-11-28","remarks":"An đã kiểm tra","waste":["sorted"]}'
expect_eq "no conflict left" "$(json_get "$OUT" conflicts)" "[]"
"$S" record --db "$DBS" --json "$R" >"$T/srv.json"
expect_eq "the server shows the resolution too" \
    "$(json_get "$T/srv.json" answers) $(json_get "$T/srv.json" conflicts)" \
    '{"households_latrine":88,"households_total":100,"inspection_date":"2026-11-28","remarks":"An đã kiểm tra","waste":["sorted"]} 0'
"$S" record --db "$DBS" 0123 >/dev/null 2>&1
expect_eq "an unknown record on the server exits 3" "$?" 3
run "$F" conflicts
expect_stdout "conflicts says there are none" "Không có xung đột."
n=$(nversions)
sync_ok binh
home binh
expect_eq "a sync with nothing new writes no version" "$(nversions)" "$n"
for d in an binh; do
    home $d
    run "$F" verify
    expect_rc "$d verifies" 0
done
finish
