#!/bin/sh
# bench/gen-world.sh DIR [ZONES] [SIDE] [combat]: write a large, plain MUD
# world for the benchmark's big case: ZONES zones (default 3) of SIDE x SIDE rooms
# (default 20: 1200 rooms in all), each a grid with exits north, south, east
# and west, zones joined east-west along their middle row. The sample world
# (48 rooms) puts 200 players in a room at 10,000 players, which measures
# fan-out, not the cost of a command; this one spreads them. With "combat"
# as the fourth argument every room also holds a training dummy (a level 1
# NPC with a lot of health and a feeble blow, back 1 s after it dies): the
# combat case's bots fight them (bench/README.md).
set -eu
dir=$1 zones=${2:-3} side=${3:-20} combat=${4:-}
mid=$((side / 2))
mkdir -p "$dir/zones"
cat > "$dir/world.yaml" <<YAML
name: Warren bench grid
start: g0.r${mid}_${mid}
channels:
  - {id: global, desc: Everyone., default: on, history: 20}
YAML
z=0
while [ $z -lt "$zones" ]; do
    f="$dir/zones/g$z.yaml"
    {
        printf 'zone: {id: g%s, name: Grid %s, desc: A plain grid of rooms., graveyard: r%s_%s}\nrooms:\n' \
            "$z" "$z" "$mid" "$mid"
        y=0
        while [ $y -lt "$side" ]; do
            x=0
            while [ $x -lt "$side" ]; do
                ex=""
                [ $y -gt 0 ] && ex="$ex n: r${x}_$((y - 1)),"
                [ $y -lt $((side - 1)) ] && ex="$ex s: r${x}_$((y + 1)),"
                if [ $x -lt $((side - 1)) ]; then ex="$ex e: r$((x + 1))_${y},"
                elif [ $y -eq $mid ] && [ $z -lt $((zones - 1)) ]; then ex="$ex e: g$((z + 1)).r0_${y},"; fi
                if [ $x -gt 0 ]; then ex="$ex w: r$((x - 1))_${y},"
                elif [ $y -eq $mid ] && [ $z -gt 0 ]; then ex="$ex w: g$((z - 1)).r$((side - 1))_${y},"; fi
                printf '  - {id: r%s_%s, name: "Grid %s room %s-%s", x: %s, y: %s, desc: "A bare room.", exits: {%s}}\n' \
                    "$x" "$y" "$z" "$x" "$y" $((z * side + x)) "$y" "${ex%,}"
                x=$((x + 1))
            done
            y=$((y + 1))
        done
        if [ "$combat" = combat ]; then
            printf 'npcs:\n  - {id: dummy%s, name: a training dummy, keywords: dummy training, desc: "Straw and sacking on a post.", ground: A training dummy stands here., level: 1, health: 400, behaviour: {combat: [{emote: sways on its post.}]}}\nnpc_spawners:\n' "$z"
            y=0
            while [ $y -lt "$side" ]; do
                x=0
                while [ $x -lt "$side" ]; do
                    printf '  - {npc: dummy%s, room: r%s_%s, interval: 1s}\n' "$z" "$x" "$y"
                    x=$((x + 1))
                done
                y=$((y + 1))
            done
        fi
    } > "$f"
    z=$((z + 1))
done
