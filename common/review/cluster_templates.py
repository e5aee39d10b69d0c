"""HTML of the cluster pages (same base, same rules as ``templates``: autoescaped Jinja, no scripts)."""

from __future__ import annotations

CLUSTERS = """{% extends base %}{% block body %}
<h2>Clusters</h2>
<p>Listings linked by a shared image (PDQ within {{ pdq }} bits, or embedding cosine ≥ {{ cosine }}), seller
account or store URL. <a href="{{ url_for('seller_ranking') }}">Sellers by repeat offences</a></p>
<form class="filters" method="get" action="{{ url_for('cluster_list') }}">
 <label>Brand<select name="brand"><option value="">all my brands</option>
  {% for b in brands %}<option value="{{ b }}" {{ 'selected' if b == brand }}>{{ b }}</option>{% endfor %}
 </select></label>
 <label>At least<input name="min_size" value="{{ min_size }}" size="3"></label>
 <button type="submit">Show</button></form>
{% if rows %}<table id="clusters"><thead><tr><th>Cluster</th><th>Brand</th><th>Listings</th><th>Best tier</th>
<th>Sellers</th><th>Marketplaces</th><th>Linked by</th><th>First seen</th><th>Last seen</th></tr></thead><tbody>
{% for c in rows %}<tr class="cluster" data-cluster="{{ c.cluster_id }}">
 <td><a href="{{ url_for('cluster_view', brand=c.brand_id, cluster_id=c.cluster_id) }}">{{ c.cluster_id }}</a></td>
 <td>{{ c.brand_id }}</td><td>{{ c.size }}</td>
 <td class="t{{ c.best_tier }}">{{ 'Tier %s' % c.best_tier if c.best_tier else '' }}</td>
 <td>{{ c.sellers | length }}</td><td>{{ c.marketplaces | dictsort | map('first') | join(', ') }}</td>
 <td>{% for k, n in c.links | dictsort %}{{ k }} {{ n }}{{ ', ' if not loop.last }}{% endfor %}</td>
 <td>{{ c.first_seen.strftime('%Y-%m-%d') if c.first_seen else '' }}</td>
 <td>{{ c.last_seen.strftime('%Y-%m-%d') if c.last_seen else '' }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p class="empty" id="empty">No clusters of {{ min_size }} or more listings.</p>{% endif %}
{% endblock %}"""

CLUSTER = """{% extends base %}{% block body %}
{% if flash %}<p class="flash" id="flash">{{ flash }}</p>{% endif %}
<h2>Cluster {{ c.cluster_id }} <small>({{ c.brand_id }})</small></h2>
<p id="summary"><b>{{ c.size }}</b> listings · <b>{{ c.sellers | length }}</b> seller accounts ·
 marketplaces: {{ c.marketplaces | dictsort | map('first') | join(', ') or 'none named' }} ·
 first seen {{ c.first_seen.strftime('%Y-%m-%d %H:%M') if c.first_seen else '?' }} · last seen
 {{ c.last_seen.strftime('%Y-%m-%d %H:%M') if c.last_seen else '?' }} · linked by
 {% for k, n in c.links | dictsort %}{{ k }} ({{ n }}){{ ', ' if not loop.last }}{% endfor %}</p>
<form class="decide" method="post" action="{{ url_for('cluster_decide', brand=c.brand_id, cluster_id=c.cluster_id) }}">
 <input type="hidden" name="csrf_token" value="{{ csrf_token }}">
<table id="members"><thead><tr><th>Image</th><th>Listing</th><th>Tier</th><th>Seller</th><th>Marketplace</th>
<th>Store</th><th>First seen</th><th>Last seen</th><th>Linked by</th><th>State</th><th>Decide</th></tr></thead><tbody>
{% for m in rows %}<tr class="member" data-listing="{{ m.listing_id }}" data-scan="{{ m.queue_scan_id }}">
 <td><img class="thumb" loading="lazy" alt="listing"
   src="{{ url_for('image', brand=c.brand_id, scan_id=m.queue_scan_id, which='candidate') }}"></td>
 <td><a href="{{ url_for('item', brand=c.brand_id, scan_id=m.queue_scan_id) }}">{{ m.listing_id }}</a>
  {% if m.title %}<br><small>{{ m.title }}</small>{% endif %}</td>
 <td class="t{{ m.tier }}">Tier {{ m.tier }}</td><td>{{ m.seller_id or '' }}</td><td>{{ m.marketplace or '' }}</td>
 <td>{{ m.store or '' }}</td>
 <td>{{ m.first_seen.strftime('%Y-%m-%d') if m.first_seen else '' }}</td>
 <td>{{ m.last_seen.strftime('%Y-%m-%d') if m.last_seen else '' }}</td>
 <td><small>{% for l in m.links %}{{ l.kind }}{% if l.to %} ↔ {{ l.to }} ({{ l.value }}){% else %} {{ l.value }}{% endif %}{{ '; ' if not loop.last }}{% endfor %}</small></td>
 <td class="state">{{ m.decision or m.state }}</td>
 <td><select name="member:{{ m.listing_id }}" aria-label="decision for {{ m.listing_id }}">
  {% set default = 'keep' if m.state == 'decided' else 'cluster' %}
  {% for value, text in choices %}<option value="{{ value }}" {{ 'selected' if value == default }}>{{ text }}</option>
  {% endfor %}</select></td></tr>{% endfor %}</tbody></table>
 <p><label>Note (kept on every member's decision)<textarea name="note" rows="2" cols="80" maxlength="1800"></textarea></label></p>
 <p>Decide every member left on “cluster decision”:
 <button name="decision" value="confirm" id="cluster-confirm">Confirm all counterfeit</button>
 <button name="decision" value="reject" id="cluster-reject">Reject all</button>
 <button name="decision" value="not_sure" id="cluster-not-sure">Not sure</button></p>
</form>
{% endblock %}"""

SELLERS = """{% extends base %}{% block body %}
<h2>Sellers by repeat offences</h2>
<p>Confirmed counterfeits per seller id, counted across marketplaces (a listing counts once, when its latest
decision is “confirmed”); linked accounts are other sellers in the same clusters.</p>
{% if rows %}<table id="sellers"><thead><tr><th>#</th><th>Seller</th><th>Brand</th><th>Confirmed</th>
<th>Per marketplace</th><th>Clusters</th><th>Linked accounts</th></tr></thead><tbody>
{% for r in rows %}<tr class="seller" data-seller="{{ r.seller_id }}"><td>{{ loop.index }}</td><td>{{ r.seller_id }}</td>
 <td>{{ r.brand_id }}</td><td class="confirmed">{{ r.confirmed }}</td>
 <td>{% for m, n in r.marketplaces | dictsort %}{{ m }}: {{ n }}{{ ', ' if not loop.last }}{% endfor %}</td>
 <td>{% for cid, size in r.clusters | dictsort %}<a href="{{ url_for('cluster_view', brand=r.brand_id, cluster_id=cid) }}">{{ cid }}</a> ({{ size }}){{ ', ' if not loop.last }}{% endfor %}</td>
 <td>{{ r.linked_accounts | join(', ') }}</td></tr>{% endfor %}</tbody></table>
{% else %}<p class="empty" id="empty">No confirmed counterfeits yet.</p>{% endif %}
{% endblock %}"""
