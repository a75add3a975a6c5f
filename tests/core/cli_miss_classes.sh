#!/usr/bin/env bash
# Miss classes and the IOTLB's size keys end to end. Run by
# tests/core/CMakeLists.txt through expect.sh (which provides `ims`, the
# binary under test). Usage: cli_miss_classes.sh CASE SCRATCH SOURCE_DIR;
# prints "ok" when the case holds.
set -euo pipefail
case=$1 tmp=$2 src=$3
rm -rf "${tmp:?}/$case"
mkdir -p "$tmp/$case"
cd "$tmp/$case"
ln -s "$src/traces" shipped
fail() { echo "FAIL: $*"; exit 1; }
# The JSON less its provenance line (what scripts/results.sh compares).
strip() { sed '/^  "provenance": /d' "$1"; }
# The value of "key" in the first line of FILE matching the regex LINE.
val() { grep -m1 -E "$2" "$1" | grep -o "\"$3\": [0-9]*" | head -n 1 | sed 's/.*: //'; }

case $case in
sums)
    # Every shipped recording under two geometries: for every cache the
    # classes and merged sum to its misses; the per-domain and per-device
    # rows' classes sum to their misses and their lookups to the IOTLB's; and
    # everything else in the JSON is what the run without classification gives.
    for t in shipped/*.itr.zst; do
        # Miss classes are legacy mode only (sm.enabled refuses them): scalable-mode
        # recordings are left out, each named in the output.
        if ims trace info "$t" | grep -q '^form: .*scalable mode$'; then echo "skipped $t: scalable mode"; continue; fi
        for geo in "iotlb.ways=2" "iotlb.ways=full"; do
            ims run --quiet --trace "$t" --set iotlb.entries=64 --set "$geo" --json off.json
            ims run --quiet --trace "$t" --set iotlb.entries=64 --set "$geo" --set stats.miss_classes=1 --json on.json
            for c in context_cache iotlb l2 l3 l4 l5; do
                misses=$(val on.json "^ +\"$c\": \{\"lookups\"" misses)
                sum=$(grep -A12 '^  "miss_classes"' on.json | grep -oE "\"$c\": \{[^}]*\}" | head -n 1 |
                    grep -oE ': [0-9]+' | awk '{ s += $2 } END { print s + 0 }')
                [ -n "$misses" ] && [ "$sum" = "$misses" ] || fail "$t $geo $c: classes + merged $sum, misses $misses"
            done
            lookups=$(val on.json '^  "iotlb": \{"lookups"' lookups)
            merged=$(val on.json '^  "iotlb": \{"lookups"' merged)
            for tab in iotlb_by_domain iotlb_by_device; do
                sed -n "/^    \"$tab\": \[/,/^    \]/p" on.json | grep '"lookups"' >rows || fail "$t: no $tab rows"
                awk -v want="$lookups" -v merged="$merged" -v what="$t $geo $tab" '
                    { l = 0; m = 0; c = 0
                      for (i = 1; i <= NF; i++) {
                          k = $i; v = $(i + 1); gsub(/[^0-9]/, "", v)
                          if (k == "\"lookups\":") l = v
                          if (k == "\"misses\":") m = v
                          if (k ~ /"(compulsory|invalidation|capacity|conflict)":/) c += v
                      }
                      if (c != m) { print "FAIL: " what ": a row has classes " c ", misses " m; bad = 1 }
                      total += l }
                    END { if (!bad && total != want) print "FAIL: " what ": rows have " total " lookups, the IOTLB " want
                          exit bad || total != want }' rows || fail "$(cat rows | head -n 3)"
            done
            # The rest is the same (the key's own line and the override aside).
            diff <(strip off.json) <(strip on.json | sed '/^  "miss_classes": {$/,/^  },$/d') >d.txt || true
            grep -vE '^[0-9,c]+$|^---$|"stats.miss_classes": "[01]"|"overrides": ' d.txt >rest.txt || true
            [ ! -s rest.txt ] || fail "$t $geo: classification changed other results: $(head -n 5 rest.txt)"
        done
    done
    ;;
entries)
    # iotlb.entries with fixed ways and fully associative: the geometry,
    # the order of the settings, and an exact rerun from the JSON.
    ims run --print-config --set iotlb.entries=4096 --set iotlb.ways=16 >a.cfg
    ims run --print-config --set iotlb.ways=16 --set iotlb.entries=4096 >b.cfg
    cmp a.cfg b.cfg || fail "the order of --set changed the configuration"
    grep -q '^iotlb.sets *= 256 ' a.cfg || fail "4096 entries of 16 ways are not 256 sets: $(grep '^iotlb.sets' a.cfg)"
    printf 'iotlb.entries = 2048\niotlb.ways = full\niotlb.sets = 8\n' >fa.cfg
    ims run --print-config --config fa.cfg >c.cfg
    grep -q '^iotlb.sets *= 1 ' c.cfg && grep -q '^iotlb.ways *= full ' c.cfg || fail "full: $(grep '^iotlb' c.cfg)"
    for point in "--set iotlb.entries=4096 --set iotlb.ways=16" "--config fa.cfg" "--set iotlb.entries=0"; do
        # shellcheck disable=SC2086
        ims run --quiet --trace shipped/mixed.itr.zst $point --json a.json
        ims run --quiet --config-from a.json --json b.json
        cmp <(strip a.json) <(strip b.json) || fail "$point: the rerun differs"
    done
    grep -q '"iotlb.entries": "0"' a.json || fail "iotlb.entries not recorded"
    # A fully associative IOTLB holds what a set-associative one of the same
    # entries holds, or more: fewer misses on the same trace.
    ims run --quiet --trace shipped/mixed.itr.zst --set iotlb.entries=256 --set iotlb.ways=1 --json dm.json
    ims run --quiet --trace shipped/mixed.itr.zst --set iotlb.entries=256 --set iotlb.ways=full --json fa.json
    dm=$(val dm.json '^  "iotlb": \{"lookups"' misses) fa=$(val fa.json '^  "iotlb": \{"lookups"' misses)
    [ "$fa" -lt "$dm" ] || fail "fully associative misses $fa, direct mapped $dm"
    ;;
text)
    # The text report's tables: misses by class per cache, and the IOTLB by
    # domain and by device, the 10 with the most misses and a note of the rest.
    ims trace gen multi --count 4000 --devices 24 --domains 12 --seed 2 m.itr >/dev/null
    ims run --trace m.itr --set stats.miss_classes=1 --set iotlb.entries=64 >out.txt
    grep -q '^misses by class:$' out.txt || fail "no miss-class table"
    grep -qE '^IOTLB +[0-9]+ ' out.txt || fail "no IOTLB row in the miss-class table"
    grep -q '^IOTLB by domain (the 10 with the most misses):$' out.txt || fail "no per-domain table"
    grep -q '^(2 more domains not shown: every row is in the JSON.s miss_classes.iotlb_by_domain)$' out.txt ||
        fail "no note of the domains left out: $(grep -A14 '^IOTLB by domain' out.txt)"
    # 24 devices, two of them behind the generator's PCIe-to-PCI bridge: the
    # IOMMU sees 23 requester ids.
    grep -q '^(13 more devices not shown' out.txt || fail "no note of the devices left out"
    # Rows are sorted by misses, most first.
    sed -n '/^IOTLB by domain/,/more domains/p' out.txt | awk 'NR > 2 && /^[0-9]/ { print $4 }' >m.txt
    sort -rn m.txt | cmp -s - m.txt || fail "domains not sorted by misses: $(tr '\n' ' ' <m.txt)"
    ims run --trace m.itr --set iotlb.entries=64 >off.txt
    ! grep -q 'misses by class' off.txt || fail "tables printed with stats.miss_classes=0"
    ;;
*)
    fail "unknown case $case"
    ;;
esac
echo ok
