#!/usr/bin/env bash
# Prints an RTL walker waveform (a VCD, e.g. from `fst2vcd -f w.fst -o w.vcd`
# of an `iommusim run --wave w.fst`) as a table: one row per clock cycle in
# [FIRST, LAST], one column per signal named, values in hex, each cycle's
# values as its inputs and outputs stand before its clock edge (time
# c x PERIOD_PS in the waveform). Cycles the simulator skipped (nothing
# changed) are left out; `...` marks them. fst2vcd comes with Debian's
# gtkwave package, which the build does not install.
# Usage: scripts/wave_table.sh FILE.vcd PERIOD_PS FIRST LAST SIGNAL...
set -euo pipefail
if [ $# -lt 5 ]; then
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
vcd=$1 period=$2 first=$3 last=$4
shift 4
[ -r "$vcd" ] || { echo "wave_table.sh: $vcd: cannot read" >&2; exit 2; }
for n in "$period" "$first" "$last"; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "wave_table.sh: '$n' is not a decimal number" >&2; exit 2; }
done
awk -v period="$period" -v first="$first" -v last="$last" -v names="$*" '
function hex(b,   s, i, v, k) {  # a VCD binary value ("b0101" or "1") in hex, any width
    sub(/^b/, "", b)
    if (b ~ /[xz]/) return "x"
    while (length(b) % 4) b = "0" b
    s = ""
    for (i = 1; i <= length(b); i += 4) {
        v = 0
        for (k = 0; k < 4; k++) v = v * 2 + substr(b, i + k, 1)
        s = s substr("0123456789abcdef", v + 1, 1)
    }
    sub(/^0+/, "", s)
    return s == "" ? "0" : s
}
function row(c,   i, s) {
    if (c < first || c > last) return
    if (shown && c > lastrow + 1) print "..."
    s = sprintf("%6d", c)
    for (i = 1; i <= n; i++) s = s sprintf("  %" w[i] "s", (id[i] in val) ? val[id[i]] : "-")
    print s
    shown = 1; lastrow = c
}
BEGIN { n = split(names, want, " ") }
/^\$var/ {  # $var wire WIDTH ID NAME $end: the first scope that has it
    for (i = 1; i <= n; i++) if ($5 == want[i] && !(i in id)) id[i] = $4
    next
}
/^\$enddefinitions/ {
    for (i = 1; i <= n; i++) {
        if (!(i in id)) { printf "wave_table.sh: no signal %s in the waveform\n", want[i] > "/dev/stderr"; exit 2 }
        w[i] = length(want[i]) > 12 ? length(want[i]) : 12
    }
    s = sprintf("%6s", "cycle")
    for (i = 1; i <= n; i++) s = s sprintf("  %" w[i] "s", want[i])
    print s
    next
}
/^#/ {  # a new time: the values so far stood at the previous one
    t = substr($0, 2) + 0
    if (have && pt % period == 0) row(pt / period)
    pt = t; have = 1
    next
}
/^b/ { val[$2] = hex($1); next }
/^[01xz]/ { val[substr($0, 2)] = hex(substr($0, 1, 1)); next }
END { if (have && pt % period == 0) row(pt / period) }
' "$vcd"
