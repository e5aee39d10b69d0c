"""HTML for the review page (Jinja2 through Flask, autoescaped). No scripts: plain links and forms."""

from __future__ import annotations

BASE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }} · counterfeit review</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
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
</style></head>
<body><header><a href="{{ url_for('queue') }}">Counterfeit review</a><span>{{ reviewer }}</span></header>
<main>{% block body %}{% endblock %}</main></body></html>"""

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
<table id="queue"><thead><tr><th>Images</th><th>Tier</th><th>Score</th><th>Listing</th><th>Seller</th>
<th>Price</th><th>Marketplace</th><th>Signals fired</th><th>Detected (UTC)</th><th>Decision</th></tr></thead><tbody>
{% for r in rows %}
<tr class="item" data-scan="{{ r.scan_id }}" data-brand="{{ r.brand_id }}">
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
<h2><span class="t{{ v.tier }}">Tier {{ v.tier }}</span> · score {{ '%.3f' % v.score }} · listing
 {{ v.listing_id }} <small>({{ v.brand_id }}, scan {{ v.scan_id }})</small></h2>
<div class="pair">
 <figure><img id="candidate" alt="listing image"
   src="{{ url_for('image', brand=v.brand_id, scan_id=v.scan_id, which='candidate') }}">
  <figcaption>Listing image</figcaption></figure>
 <figure>{% if has_reference %}<img id="reference" alt="brand reference"
   src="{{ url_for('image', brand=v.brand_id, scan_id=v.scan_id, which='reference') }}">{% else %}
   <p>Reference image not available here.</p>{% endif %}
  <figcaption>Genuine reference: {{ reference or 'none' }}</figcaption></figure>
</div>
<h3>Why</h3><ul id="reasons">{% for r in v.reasons %}<li>{{ r }}</li>{% endfor %}</ul>
<p>Rule: {{ v.rule }}{% if v.exemptions %} · exemptions: {{ v.exemptions | join(', ') }}{% endif %}</p>
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
{% if it.review %}<p id="current-review">Decided: <b>{{ it.review.decision }}</b> by {{ it.review.reviewer }}
 {% if it.review.note %}— “{{ it.review.note }}”{% endif %}</p>{% endif %}
<h3>Decision</h3>
<form class="decide" method="post" action="{{ url_for('decide', brand=v.brand_id, scan_id=v.scan_id) }}">
 <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
 <p><label>Note<textarea name="note" rows="3" cols="80" maxlength="2000"></textarea></label></p>
 <button name="decision" value="confirm" id="confirm">Confirm counterfeit</button>
 <button name="decision" value="reject" id="reject">Reject (not counterfeit)</button>
 <button name="decision" value="not_sure" id="not-sure">Not sure</button>
</form>
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
