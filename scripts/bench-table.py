#!/usr/bin/env python3
"""Summaries of scripts/bench.sh results: the one place that reads their JSON.

    python3 scripts/bench-table.py DIR [DIR ...]
        Markdown tables in the form docs/benchmarks.md uses. Each DIR is a results folder of
        scripts/bench.sh; its runs are listed in the order they were made (summary.txt), one
        table for the floor runs and one for the quizroom runs. With several folders a first
        column says which one a row comes from.
    python3 scripts/bench-table.py --line FILE.json
        One line for one run, the figures the issue's targets are about (bench.sh's
        summary.txt).
"""

import json
import sys
from pathlib import Path


def runs_in_order(folder: Path):
    """(name, result) for every run of a folder, in the order summary.txt lists them."""
    order = []
    summary = folder / "summary.txt"
    if summary.exists():
        order = [line.split()[0] for line in summary.read_text().splitlines() if line.strip()]
    names = order + sorted(p.stem for p in folder.glob("*.json") if p.stem not in order)
    for name in names:
        path = folder / f"{name}.json"
        if path.exists():
            yield name, json.loads(path.read_text())


def ms(x):
    return f"{x:.1f}"


def floor_row(d):
    l = d["lateness_client"]
    return [
        f"{d['connections']:,}",
        f"{ms(l['p50'])} / {ms(l['p90'])} / {ms(l['p99'])} / {ms(l['max'])}",
        f"{d['lateness_server']['p99']:.0f}",
        f"{d['rss_per_connection_kib']:.1f} KiB",
        "yes" if d["ok"] else "**no**",
    ]


def game_row(name, d):
    l, s, a, t, c = d["latency_ms"], d["server"], d["answers"], d["throughput"], d["config"]
    mode = c["answer"] + (f" {c['burst_window_ms']} ms" if c["answer"] == "burst" else "")
    return [
        f"{name}: {c['rooms']:,} × {c['players']:,}, {c['questions']} q, {mode}",
        f"{ms(l['question_delivery']['p50'])} / {ms(l['question_delivery']['p99'])}",
        f"{ms(l['time_up_client']['p50'])} / {ms(l['time_up_client']['p99'])} / {ms(l['time_up_client']['max'])}",
        f"{l['time_up_server']['p99']:.0f} / {l['time_up_server']['max']:.0f}",
        f"{ms(l['answer_ack']['p50'])} / {ms(l['answer_ack']['p99'])}",
        f"{t['peak_acks_per_s_100ms']:,}",
        f"{s['rss_per_player_joined_kib']:.1f} / {s['rss_per_player_kib']:.1f} KiB",
        f"{s['cpu_game_avg_pct']:.1f} %",
        f"{a['lost']}" + ("" if d["ok"] else " (**run failed**)"),
    ]


def line(path: Path):
    name = path.stem
    try:
        d = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        return f"{name:<16} no result ({e})"
    if "lateness_client" in d:
        l = d["lateness_client"]
        return (f"{name:<16} floor  lateness p50/p99/max {ms(l['p50'])}/{ms(l['p99'])}/{ms(l['max'])} ms"
                f"  server timer p99 {d['lateness_server']['p99']:.0f} ms"
                f"  RSS/conn {d['rss_per_connection_kib']:.1f} KiB  ok={d['ok']}")
    l, s, a, t = d["latency_ms"], d["server"], d["answers"], d["throughput"]
    u = l["time_up_client"]
    return (f"{name:<16} time_up p50/p99/max {ms(u['p50'])}/{ms(u['p99'])}/{ms(u['max'])} ms"
            f"  timer p99 {l['time_up_server']['p99']:.0f} ms"
            f"  ack p99 {ms(l['answer_ack']['p99'])} ms (peak {t['peak_acks_per_s_100ms']}/s in 100 ms)"
            f"  RSS/player joined/peak {s['rss_per_player_joined_kib']:.1f}/{s['rss_per_player_kib']:.1f} KiB"
            f"  CPU {s['cpu_game_avg_pct']:.0f}%  lost {a['lost']}  ok={d['ok']}")


def table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def main(args):
    if len(args) == 2 and args[0] == "--line":
        print(line(Path(args[1])))
        return 0
    folders = args
    if not folders or any(a.startswith("-") for a in folders):
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for folder in folders:
        if not any(Path(folder).glob("*.json")):
            print(f"bench-table.py: no results (*.json) in {folder}", file=sys.stderr)
            return 2
    several = len(folders) > 1
    floors, games = [], []
    for folder in map(Path, folders):
        tag = [folder.name] if several else []
        for name, d in runs_in_order(folder):
            if "lateness_client" in d:
                floors.append(tag + floor_row(d))
            else:
                games.append(tag + game_row(name, d))
    set_col = ["set"] if several else []
    if floors:
        print(table(set_col + ["floor sockets", "receive − deadline p50 / p90 / p99 / max (ms)",
                               "its timer p99 (ms)", "RSS per connection", "ok"], floors))
        print()
    if games:
        print(table(set_col + ["run", "question delivery p50 / p99", "time_up p50 / p99 / max",
                               "timer p99 / max", "ack p50 / p99", "peak acks/s (100 ms)",
                               "RSS per player joined / peak", "server CPU (game)", "lost"], games))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
