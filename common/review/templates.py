"""HTML for the review page (Jinja2 through Flask, autoescaped). Plain links and forms; the one script,
``/static/review.js``, only adds keyboard shortcuts to buttons and links that work without it."""

from __future__ import annotations

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · counterfeit review</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<script src="{{ url_for('static', filename='review.js') }}" defer></script>
<link rel="icon" href="{{ url_for('static', filename='favicon.svg') }}" type="image/svg+xml">
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#f6f6f7}
header{background:#1d1d1f;color:#fff;padding:10px 20px;display:flex;justify-content:space-between}
header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:16px 20px;max-width:1400px}
table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e3e3e6;padding:6px 8px;text-align:left;vertical-align:top}
th{background:#eceef1}
.t1{color:#b00020;font-weight:700}.t2{color:#a15c00;font-weight:700}
.pair{display:flex;gap:16px;flex-wrap:wrap}.pair figure{margin:0;background:#fff;padding:8px}
.pair img{max-height:480px;max-width:640px;display:block}
form.filters{display:flex;gap:12px;align-items:end;margin-bottom:12px;flex-wrap:wrap}
label{display:flex;flex-direction:column;font-size:12px;color:#555}
.decide button{font-size:15px;padding:8px 16px;margin-right:8px}
.empty{padding:24px;background:#fff}
.thumb{width:56px;height:56px;object-fit:cover;margin-right:4px;background:#eee}
.flash{background:#e7f6e7;padding:8px 12px;margin-bottom:12px}
.flash.problem{background:#fdecea}
tr.item.selected{outline:2px solid #0a66c2;background:#eef5fd}
.item-top{display:grid;grid-template-columns:minmax(0,1fr) 340px;gap:16px;align-items:start}
.item-head{margin:0 0 8px;font-size:18px}
.stage{position:relative;display:inline-block;line-height:0}
.stage img{max-height:420px;max-width:100%}
.stage svg{position:absolute;left:0;top:0;width:100%;height:100%;pointer-events:none}
.pair img{max-height:420px;max-width:460px}
.panel{background:#fff;padding:12px;position:sticky;top:8px}
.panel .decide button{display:block;width:100%;margin:0 0 8px;font-size:15px;padding:9px}
.panel textarea{width:100%;box-sizing:border-box}
.panel dl{display:grid;grid-template-columns:auto 1fr;gap:2px 8px;margin:0 0 10px}
.panel dt{color:#555}.panel dd{margin:0;overflow-wrap:anywhere}
.nav{display:flex;justify-content:space-between}
kbd{border:1px solid #bbb;border-radius:3px;padding:0 4px;font-size:12px;background:#f6f6f7;color:#1d1d1f}
.keys-help{position:fixed;right:20px;top:50px;background:#fff;border:1px solid #999;padding:12px 16px;
 box-shadow:0 4px 16px rgba(0,0,0,.2);z-index:10}
.bulk{display:flex;gap:8px;align-items:center;margin:0 0 8px}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:16px}
.charts figure{margin:0;background:#fff;padding:12px}
</style></head>
<body data-page="{{ page or '' }}"><header><a href="{{ url_for('queue') }}">Counterfeit review</a>
<nav><a href="{{ url_for('cluster_list') }}">Clusters</a> · <a href="{{ url_for('seller_ranking') }}">Sellers</a> ·
 <a href="{{ url_for('dashboard') }}" id="dashboard-link">Dashboard</a></nav>
<span>{{ reviewer }} ·
 <kbd>?</kbd> keys</span></header>
<main>{% block body %}{% endblock %}</main>
<div id="keys-help" class="keys-help" hidden><b>Keyboard</b>
<table><tr><th colspan="2">Queue</th></tr>
<tr><td><kbd>j</kbd> / <kbd>k</kbd></td><td>next / previous row</td></tr>
<tr><td><kbd>o</kbd> <kbd>Enter</kbd> <kbd>e</kbd></td><td>open the row</td></tr>
<tr><td><kbd>x</kbd></td><td>tick the row for a bulk decision</td></tr>
<tr><th colspan="2">Item</th></tr>
<tr><td><kbd>c</kbd> / <kbd>r</kbd> / <kbd>u</kbd></td><td>confirm / reject / not sure (then the next item)</td></tr>
<tr><td><kbd>j</kbd> / <kbd>k</kbd></td><td>next / previous item</td></tr>
<tr><td><kbd>e</kbd></td><td>open the evidence</td></tr><tr><td><kbd>q</kbd></td><td>back to the queue</td></tr>
<tr><td><kbd>?</kbd> <kbd>Esc</kbd></td><td>show / hide this list</td></tr></table>
<small>Keys do nothing while you type in a field (Esc leaves it).</small></div></body></html>"""

QUEUE = """{% extends base %}{% block body %}
{% if flash %}<p class="flash" id="flash">{{ flash }}</p>{% endif %}
<form class="filters" method="get" action="{{ url_for('queue') }}">
 <label>Brand<select name="brand"><option value="">all my brands</option>
  {% for b in brands %}<option value="{{ b }}" {{ 'selected' if b == f.brand }}>{{ b }}</option>{% endfor %}
 </select></label>
 <label>Tier<select name="tier"><option value="">1 and 2</option>
  <option value="1" {{ 'selected' if f.tier == '1' }}>Tier 1</option>
  <option value="2" {{ 'selected' if f.tier == '2' }}>Tier 2</option></select></label>
 <label>Show<select name="show">
  {% for value, text in [('pending','waiting for review'),('not_sure','not sure'),('decided','decided'),
     ('all','all')] %}
  <option value="{{ value }}" {{ 'selected' if value == f.show }}>{{ text }}</option>{% endfor %}</select></label>
 <label>Marketplace<input name="marketplace" value="{{ f.marketplace }}" size="10"></label>
 <label>Seller<input name="seller" value="{{ f.seller }}" size="12"></label>
 <label>Signal fired<input name="signal" value="{{ f.signal }}" size="9" placeholder="logo"></label>
 <label>Rule<input name="rule" value="{{ f.rule }}" size="10"></label>
 <label>From<input type="date" name="since" value="{{ f.since }}"></label>
 <label>To<input type="date" name="until" value="{{ f.until }}"></label>
 <button type="submit">Filter</button>
</form>
<p id="counts">{% for state, text in [('pending','waiting for review'),('not_sure','not sure'),('decided','decided')] %}
 <span class="count" data-state="{{ state }}">{{ text }}: <b>{{ counts[state] }}</b></span>{{ ' · ' if not loop.last }}
{% endfor %} · export <a id="export-csv" href="{{ url_for('export', fmt='csv') }}?{{ qs }}">CSV</a>
 <a id="export-json" href="{{ url_for('export', fmt='json') }}?{{ qs }}">JSON</a></p>
{% if rows %}
<form id="bulk" class="bulk" method="post" action="{{ url_for('bulk_decide') }}?{{ qs }}">
 <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
 <label>Note for the ticked items<input name="note" id="bulk-note" maxlength="2000" size="40" required></label>
 <button name="decision" value="confirm" id="bulk-confirm">Confirm ticked</button>
 <button name="decision" value="reject" id="bulk-reject">Reject ticked</button></form>
<table id="queue"><thead><tr><th></th><th>Images</th><th>Tier</th><th>Score</th><th>Listing</th><th>Seller</th>
<th>Price</th><th>Marketplace</th><th>Signals fired</th><th>Detected (UTC)</th><th>Decision</th></tr></thead><tbody>
{% for r in rows %}
<tr class="item" data-scan="{{ r.scan_id }}" data-brand="{{ r.brand_id }}">
 <td><input type="checkbox" class="pick" name="item" value="{{ r.brand_id }}/{{ r.scan_id }}" form="bulk"
   aria-label="tick {{ r.listing_id }}"></td>
 <td class="thumbs"><img class="thumb" loading="lazy" alt="listing"
   src="{{ url_for('image', brand=r.brand_id, scan_id=r.scan_id, which='candidate') }}">{% if r.best_reference %}<img
   class="thumb" loading="lazy" alt="reference"
   src="{{ url_for('image', brand=r.brand_id, scan_id=r.scan_id, which='reference') }}">{% endif %}</td>
 <td class="t{{ r.tier }}">Tier {{ r.tier }}</td><td>{{ '%.2f' % r.score }}</td>
 <td><a class="open" href="{{ url_for('item', brand=r.brand_id, scan_id=r.scan_id) }}?{{ qs }}">{{ r.listing_id }}</a>
  {% if r.title %}<br><small>{{ r.title }}</small>{% endif %}<br><small>{{ r.brand_id }}
  {% if r.history %} · {{ r.history | length }} earlier scan{{ 's' if r.history | length > 1 }}{% endif %}</small></td>
 <td>{{ r.seller_id or '' }}</td>
 <td>{% if r.price is not none %}{{ '%.2f' % r.price }} {{ r.currency or '' }}{% endif %}</td>
 <td>{{ r.marketplace or '' }}</td>
 <td>{{ r.signals | join(', ') }}</td><td>{{ r.created_at.strftime('%Y-%m-%d %H:%M') }}</td>
 <td>{{ r.decision or '' }}</td></tr>
{% endfor %}</tbody></table>
{% if next_cursor %}<p><a id="next-page" href="{{ url_for('queue') }}?{{ qs }}&after={{ next_cursor }}">Next page</a>
</p>{% endif %}
{% else %}<p class="empty" id="empty">Nothing to review for these filters.</p>{% endif %}
{% endblock %}"""

ITEM = """{% extends base %}{% block body %}{% set v = it.verdict %}
{% if flash %}<p class="flash" id="flash">{{ flash }}</p>{% endif %}
<div class="item-top"><section>
<h2 class="item-head"><span class="t{{ v.tier }}">Tier {{ v.tier }}</span> · score {{ '%.3f' % v.score }} · listing
 {{ v.listing_id }} <small>({{ v.brand_id }}, scan {{ v.scan_id }})</small></h2>
<div class="pair">
 <figure><div class="stage"><img id="candidate" alt="listing image"
   src="{{ url_for('image', brand=v.brand_id, scan_id=v.scan_id, which='candidate') }}">{% if overlay %}<svg
   id="regions" viewBox="0 0 {{ overlay.width }} {{ overlay.height }}" preserveAspectRatio="none"
   role="img" aria-label="matched regions">{% for r in overlay.regions %}<g class="region" data-signal="{{ r.label }}">
   <rect x="{{ r.x }}" y="{{ r.y }}" width="{{ r.w }}" height="{{ r.h }}" fill="none" stroke="{{ r.colour }}"
    stroke-width="3" vector-effect="non-scaling-stroke"/><text x="{{ r.x + 4 }}" y="{{ [r.y - 6, 14] | max }}"
    fill="{{ r.colour }}" font-size="{{ [overlay.width // 32, 12] | max }}" font-family="sans-serif">{{ r.label }}</text>
   </g>{% endfor %}</svg>{% endif %}</div>
  <figcaption>Listing image{% if overlay %} · boxed: {{ overlay.regions | map(attribute='label') | unique | join(', ')
  }}{% endif %}</figcaption></figure>
 <figure>{% if has_reference %}<img id="reference" alt="brand reference"
   src="{{ url_for('image', brand=v.brand_id, scan_id=v.scan_id, which='reference') }}">{% else %}
   <p>Reference image not available here.</p>{% endif %}
  <figcaption>Genuine reference: {{ reference or 'none' }}</figcaption></figure>
</div>
<h3>Why</h3><ul id="reasons">{% for r in v.reasons %}<li>{{ r }}</li>{% endfor %}</ul>
<p>Rule: {{ v.rule }}{% if v.exemptions %} · exemptions: {{ v.exemptions | join(', ') }}{% endif %}</p>
</section>
<aside class="panel" id="decision-panel" data-brand="{{ v.brand_id }}" data-scan="{{ v.scan_id }}">
<dl id="facts">{% for key, text in [('seller_id','Seller'),('price','Price'),('marketplace','Marketplace'),
  ('title','Title')] %}{% if listing.get(key) is not none %}<dt>{{ text }}</dt><dd>{{ listing.get(key) }}
  {{ listing.get('currency') or '' if key == 'price' }}</dd>{% endif %}{% endfor %}</dl>
{% if cluster and cluster[1].size > 1 %}<p id="cluster-link">In <a href="{{ url_for('cluster_view',
 brand=v.brand_id, cluster_id=cluster[0]) }}">a cluster of {{ cluster[1].size }} listings</a></p>{% endif %}
{% if it.review %}<p id="current-review">Decided: <b>{{ it.review.decision }}</b> by {{ it.review.reviewer }}
 {% if it.review.note %}— “{{ it.review.note }}”{% endif %}</p>{% endif %}
<form class="decide" method="post" action="{{ url_for('decide', brand=v.brand_id, scan_id=v.scan_id) }}?{{ qs }}">
 <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
 <button name="decision" value="confirm" id="confirm">Confirm counterfeit <kbd>c</kbd></button>
 <button name="decision" value="reject" id="reject">Reject, not counterfeit <kbd>r</kbd></button>
 <button name="decision" value="not_sure" id="not-sure">Not sure <kbd>u</kbd></button>
 <label>Note<textarea name="note" rows="2" maxlength="2000"></textarea></label>
</form>
<p class="nav">{% if prev_scan %}<a id="prev-item" href="{{ url_for('item', brand=prev_scan[0], scan_id=prev_scan[1]) }}?{{ qs }}">← previous <kbd>k</kbd></a>{% else %}<span></span>{% endif %}
 <a id="back-to-queue" href="{{ url_for('queue') }}?{{ qs }}">queue <kbd>q</kbd></a>
 {% if next_item %}<a id="next-item" href="{{ url_for('item', brand=next_item.brand_id, scan_id=next_item.scan_id) }}?{{ qs_next }}">next <kbd>j</kbd> →</a>{% else %}<span id="last-item">last in view</span>{% endif %}</p>
</aside></div>
<h3>Listing</h3><table>
{% for key in ['title','marketplace','seller_id','price','currency','url','description'] %}
 {% if listing.get(key) is not none %}<tr><th>{{ key }}</th><td>{{ listing.get(key) }}</td></tr>{% endif %}
{% endfor %}</table>
<h3>Signals</h3><table id="signals"><thead><tr><th>Signal</th><th>Status</th><th>Score</th><th>Reference</th>
<th>Evidence</th><th>Channel</th><th>Role</th></tr></thead><tbody>
{% for name, s in v.signals | dictsort %}{% set spec = signal_specs.get(name) %}<tr><td>{{ name }}</td><td>{{ s.status }}</td>
<td>{{ '%.3f' % s.score if s.score is not none else '' }}</td><td>{{ s.reference or '' }}</td>
<td>{{ s.reason or '' }}</td><td>{{ spec.channel if spec else '' }}</td>
<td>{{ spec.role.replace('_', ' ') if spec else '' }}</td></tr>{% endfor %}</tbody></table>
<h3 id="case">Enforcement case</h3>
{% if case %}<p>State: <b id="case-state">{{ case.state }}</b> · last moved by {{ case.updated_by }}</p>
<ol id="case-trail">{% for e in case_trail %}<li>{{ e.at }} — {{ e['from'] or 'opened' }} → {{ e.to }} by {{ e.by }}
 {% if e.note %}— “{{ e.note }}”{% endif %}</li>{% endfor %}</ol>
{% if case.state in ('confirmed', 'notice_generated', 'rejected', 'reinstated') %}
<form method="post" action="{{ url_for('generate_item_notice', brand=v.brand_id, scan_id=v.scan_id) }}">
 <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
 <label>Test-buy order id (optional) <input name="test_buy_order_id" maxlength="100"></label>
 <button id="generate-notice">Generate takedown notice</button></form>{% endif %}
{% if case_moves %}<form method="post" action="{{ url_for('move_item_case', brand=v.brand_id, scan_id=v.scan_id) }}">
 <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
 <label>Note <input name="note" maxlength="2000"></label>
 {% for s in case_moves %}<button name="state" value="{{ s }}" id="case-{{ s }}">Mark {{ s }}</button> {% endfor %}
</form>{% endif %}
{% if notice_files %}<p id="notice-files">Notice files: {% for n in notice_files %}
<a href="{{ url_for('notice_file', brand=v.brand_id, scan_id=v.scan_id, name=n) }}">{{ n }}</a> {% endfor %}</p>{% endif %}
{% else %}<p id="case-state">No case: confirming the item opens one.</p>{% endif %}
{% if has_bundle %}<p><a id="evidence-pdf" href="{{ url_for('report_pdf', brand=v.brand_id, scan_id=v.scan_id) }}">
Download the takedown evidence report (PDF)</a>{% if v.evidence %} · bundle <code>{{ v.evidence }}</code>{% endif %}</p>
{% endif %}
{% endblock %}"""

MESSAGE = """{% extends base %}{% block body %}<h2>{{ heading }}</h2><p>{{ message }}</p>
{% if login %}<form method="get" action="{{ url_for('queue') }}"><label>Review token
<input type="password" name="token" autocomplete="off"></label> <button type="submit">Sign in</button></form>{% endif %}
{% endblock %}"""
