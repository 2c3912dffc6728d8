# ui_lib.sh - what the tests of `field ui` share, on top of lib.sh (or
# server_lib.sh): starting the real `field ui` and stopping it.
#
# start_ui [OPTIONS] runs `field ui --json OPTIONS` for the current data
# directory in the background, on a free port, and waits for the one line
# it prints; it sets UPID, UI_OUT (the file holding that line), UI_URL and
# UI_PORT. Every `field ui` started is killed by the EXIT trap. stop_ui
# sends SIGTERM and waits; its exit status is in RC. ui_json KEY prints a
# member of the line (for pairing_code).

UPIDS=""
at_exit 'for _p in $UPIDS; do kill -9 "$_p" 2>/dev/null; done'

ui_json() {
    "$PY" -c 'import json,sys; print(json.load(sys.stdin).get(sys.argv[1], ""))' "$1" <"$UI_OUT"
}

start_ui() {
    UI_OUT="$T/ui.out"
    rm -f "$UI_OUT"
    "$F" ui --json "$@" >"$UI_OUT" 2>"$T/ui.err" </dev/null &
    UPID=$!
    UPIDS="$UPIDS $UPID"
    _i=0
    while ! grep -q '}' "$UI_OUT" 2>/dev/null; do
        _i=$((_i + 1))
        if [ "$_i" -gt 100 ] || ! kill -0 "$UPID" 2>/dev/null; then
            fail "field ui starts" "$(cat "$T/ui.err")"
            finish
        fi
        sleep 0.05
    done
    UI_URL=$(ui_json url)
    UI_PORT=$(ui_json port)
}

stop_ui() {
    kill -TERM "$UPID"
    wait "$UPID"
    RC=$?
}
