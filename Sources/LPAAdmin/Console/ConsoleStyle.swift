/// The console's style sheet.
enum ConsoleStyle {
    static let css = #"""
:root { --fg: #1d2430; --muted: #5e6878; --line: #d9dee7; --bg: #f5f7fa; --card: #fff; --accent: #1f6feb;
  --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --online: #2da44e; --offline: #a0a8b5; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header#top { display: flex; align-items: center; gap: 1.2rem; padding: .6rem 1.2rem; background: #111827; color: #fff; }
header#top .brand { font-weight: 700; letter-spacing: .02em; }
header#top nav a { color: #cbd5e1; text-decoration: none; margin-right: .9rem; padding: .2rem 0; }
header#top nav a.active { color: #fff; border-bottom: 2px solid #60a5fa; }
#who { margin-left: auto; color: #cbd5e1; }
#who .role { background: #374151; color: #fff; border-radius: 999px; padding: .05rem .55rem; margin-left: .3rem; }
main { padding: 1rem 1.2rem 3rem; max-width: 1280px; margin: 0 auto; }
footer#status { position: fixed; bottom: 0; left: 0; right: 0; padding: .3rem 1.2rem; font-size: 12px; color: var(--muted); background: var(--bg); border-top: 1px solid var(--line); }
h1 { font-size: 1.35rem; margin: .2rem 0 .8rem; }
h2 { font-size: 1.05rem; margin: 0 0 .6rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .9rem 1rem; margin-bottom: 1rem; }
.narrow { max-width: 460px; margin: 3rem auto; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(260px, 1fr)); gap: 1rem; }
.stats { display: flex; gap: 1rem; flex-wrap: wrap; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .6rem 1rem; min-width: 130px; }
.stat .n { font-size: 1.6rem; font-weight: 600; }
.stat .l { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .35rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
a { color: var(--accent); }
button { font: inherit; border: 1px solid var(--line); background: #fff; border-radius: 6px; padding: .3rem .8rem; cursor: pointer; }
button.primary, form button[type=submit] { background: var(--accent); border-color: var(--accent); color: #fff; }
button.danger { color: var(--bad); border-color: #f1b5b9; }
button:disabled { opacity: .5; cursor: default; }
header#top button { background: transparent; color: #cbd5e1; border-color: #4b5563; }
input, select, textarea { font: inherit; border: 1px solid var(--line); border-radius: 6px; padding: .3rem .5rem; background: #fff; }
textarea { width: 100%; min-height: 5.5rem; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
label { display: block; font-weight: 600; font-size: 12px; color: var(--muted); margin: .5rem 0 .2rem; }
form .row { display: flex; gap: .8rem; flex-wrap: wrap; align-items: flex-end; }
form .row > div { flex: 1 1 180px; }
form .row input { width: 100%; }
.filters { display: flex; gap: .6rem; flex-wrap: wrap; align-items: center; margin-bottom: .6rem; }
.pager { display: flex; gap: .6rem; align-items: center; margin-top: .6rem; }
.error { color: var(--bad); }
.field-error { color: var(--bad); font-size: 12.5px; margin: .2rem 0 0; }
.invalid { border-color: var(--bad); background: #fff5f5; }
.muted { color: var(--muted); }
.pill { display: inline-block; border-radius: 999px; padding: 0 .55rem; font-size: 12px; background: #eef1f5; }
.pill.online, .pill.enabled, .pill.succeeded, .pill.confirmed, .pill.completed, .pill.running { background: #dcfce7; color: #14532d; }
.pill.offline, .pill.skipped, .pill.draft, .pill.cancelled, .pill.canceled { background: #eef1f5; color: #475569; }
.pill.failed, .pill.returnTimedOut, .pill.canary_failed, .pill.halted { background: #fee2e2; color: #7f1d1d; }
.pill.paused, .pill.pending, .pill.claimed { background: #fef3c7; color: #78350f; }
.bar { height: 14px; background: #eef1f5; border-radius: 7px; overflow: hidden; display: flex; }
.bar span { display: block; height: 100%; }
.bar .succeeded { background: var(--ok); } .bar .failed { background: var(--bad); } .bar .running, .bar .claimed { background: #60a5fa; }
.bar .skipped { background: #cbd5e1; }
svg.chart { width: 100%; height: auto; display: block; }
svg.chart text { font-size: 11px; fill: var(--muted); }
svg.chart .grid line { stroke: #eef1f5; }
svg.chart .online { stroke: var(--online); fill: none; stroke-width: 2; }
svg.chart .offline { stroke: var(--offline); fill: none; stroke-width: 2; }
svg.chart .hb { fill: #60a5fa; }
svg.chart .band0 { fill: #f0f9ff; } svg.chart .band1 { fill: #ecfdf5; } svg.chart .band2 { fill: #fefce8; } svg.chart .band3 { fill: #fdf2f8; }
svg.chart .seg-online { fill: var(--online); } svg.chart .seg-offline { fill: var(--offline); }
.legend span { margin-right: 1rem; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: .3rem; vertical-align: middle; }
.legend .online { background: var(--online); } .legend .offline { background: var(--offline); }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0; }
dl.kv dt { color: var(--muted); } dl.kv dd { margin: 0; font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12.5px; }
pre.json { background: #f8fafc; border: 1px solid var(--line); border-radius: 6px; padding: .5rem; overflow: auto; max-height: 18rem; margin: .3rem 0 0; }
.entry { border-top: 1px solid var(--line); padding: .6rem 0; }
.entry:first-of-type { border-top: none; }
.entry-head { display: flex; gap: .6rem; align-items: center; }
.entry-head .name { font-weight: 600; }
.actions { display: flex; gap: .4rem; flex-wrap: wrap; }
.notice { background: #eff6ff; border: 1px solid #bfdbfe; border-radius: 6px; padding: .4rem .6rem; margin: .4rem 0; }
"""#
}
