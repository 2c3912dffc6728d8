#!/bin/sh
# manpage.sh PROGRAM VERSION DATE - write PROGRAM's manual page (section 1,
# roff) on standard output, made from its help texts: `PROGRAM --help` as
# the description, then `PROGRAM help COMMAND` for every command it lists.
#
# Why not help2man: it reads one --help text, and ours are one per
# command; the page would list the commands without saying what any of
# them does. The help texts stay the only source: a page can never say
# something the program's --help does not.
#
# The texts are kept as the program lays them out (no-fill blocks), with
# what roff would misread escaped: a backslash, a dot or quote starting a
# line, and "-" written as a minus sign (they are options, typed as such).
set -eu

prog=$1
version=$2
date=$3
name=$(basename "$prog")

# roff: escape the text on standard input for a no-fill block.
roff() {
    sed -e 's/\\/\\e/g' -e 's/-/\\-/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"
}

# The summary for NAME: the first paragraph of --help after its usage
# line, joined, as man pages word it (lower case, no full stop).
summary=$("$prog" --help |
    awk 'NR > 2 && /^$/ { exit } NR > 2 { printf "%s%s", sep, $0; sep = " " }' |
    sed -e 's/^\(.\)/\L\1/' -e 's/\.$//')
commands=$("$prog" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }')

upper=$(printf '%s' "$name" | tr 'a-z' 'A-Z' | roff)
rname=$(printf '%s' "$name" | roff)
printf '.TH %s 1 "%s" "%s %s" "User Commands"\n' "$upper" "$date" "$rname" "$version"
printf '.SH NAME\n%s \\- %s\n' "$rname" "$(printf '%s' "$summary" | roff)"
printf '.SH SYNOPSIS\n.B %s\n[\\-\\-version] [\\-\\-help]\n.I command\n[\\fIoptions\\fR] [\\fIarguments\\fR]\n' "$rname"
printf '.SH DESCRIPTION\n.nf\n'
"$prog" --help | tail -n +3 | roff
printf '.fi\n.SH COMMANDS\n'
for c in $commands; do
    printf '.SS %s\n.nf\n' "$c"
    "$prog" help "$c" | roff
    printf '.fi\n'
done
case $name in
field)
    printf '.SH FILES\n.TP\n.I $FIELD_HOME/field.db\n'
    printf 'the device store (SQLite)\n.TP\n.I $FIELD_HOME/device.key\n'
    printf "the device's signing key\n"
    printf '.TP\n.I /usr/share/field/templates, /usr/share/field/units\n'
    printf 'the built-in checklists and units, as files to read or adapt\n'
    printf '.SH SEE ALSO\n.BR field\\-server (1)\n'
    ;;
field-server)
    printf '.SH FILES\n.TP\n.I /etc/field-server/field-server.conf\n'
    printf 'settings of the service (every key is also an option of serve)\n'
    printf '.TP\n.I /var/lib/field-server/server.db\n'
    printf "the service's database (SQLite)\n"
    printf '.SH SEE ALSO\n.BR field (1),\n.BR systemctl (1),\n.BR journalctl (1)\n'
    ;;
esac
