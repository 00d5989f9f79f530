// The dashboard's page: one HTML document with inline CSS. Its script is
// dashboard_script.cc; every value it shows is set as text, never as markup.

#include "controller/dashboard/dashboard.h"

namespace ferry::controller::dashboard {

const char kDashboardHtml[] = R"html(<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ferry</title>
<style>
:root { --ok: #1a7f37; --bad: #cf222e; --warn: #bc4c00; --dim: #57606a; --line: #d0d7de; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328;
       background: #f6f8fa; }
header { display: flex; gap: 16px; align-items: baseline; padding: 12px 24px; background: #24292f;
         color: #fff; }
header h1 { margin: 0; font-size: 20px; }
#summary { flex: 1; color: #d0d7de; }
main { padding: 8px 24px 24px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; margin-top: 16px; }
h2 { margin: 0; padding: 8px 12px; font-size: 15px; border-bottom: 1px solid var(--line); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: 6px 12px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { font-weight: 600; color: var(--dim); font-size: 12px; text-transform: uppercase; }
tr.drifted { background: #fff8c5; }
td.mono, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
.badge { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px;
         font-weight: 600; border: 1px solid currentColor; white-space: nowrap; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
.unknown { color: var(--dim); }
header .badge { color: #d0d7de; }
header .badge.ok { color: #4ac26b; } header .badge.bad { color: #ff8182; }
#events { list-style: none; margin: 0; padding: 0; max-height: 360px; overflow-y: auto; }
#events li { padding: 6px 12px; border-bottom: 1px solid #eaeef2; display: grid;
             grid-template-columns: 180px 80px 150px 1fr; gap: 8px; align-items: start; }
#events li .badge { justify-self: start; }
#events li.live { animation: arrive 2s ease-out; }
@keyframes arrive { from { background: #ddf4ff; } to { background: transparent; } }
.note { padding: 6px 12px; color: var(--dim); margin: 0; }
.empty { color: var(--dim); font-style: italic; }
</style>
</head>
<body data-updates="0" data-events="0" data-live-events="0">
<header><h1>Ferry</h1><span id="summary">loading…</span><span id="conn" class="badge">connecting</span></header>
<main>
<section><h2>Nodes</h2>
<table id="nodes"><thead><tr><th>Name</th><th>Connected</th><th>In sync</th><th>Agent</th>
<th>Addresses</th><th>Last seen</th></tr></thead><tbody></tbody></table></section>
<section><h2>Forwards</h2>
<table id="forwards"><thead><tr><th>Name</th><th>Ready</th><th>Drifted</th><th>Data path</th>
<th>Frontend</th><th>Backend</th><th>Ports</th><th>Policy</th></tr></thead><tbody></tbody></table>
<p id="forwards-more" class="note" hidden></p></section>
<section><h2>Events</h2><ol id="events"></ol></section>
</main>
<script src="/dashboard.js"></script>
</body>
</html>
)html";

}  // namespace ferry::controller::dashboard
