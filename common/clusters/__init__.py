"""Clusters of listings that share an image, a seller or a storefront (seed 004's relationship graph).

``keys`` (exact keys: seller id, normalised store URL), ``fingerprints`` (PDQ bits and an embedding of the
listing image, with the thresholds), ``print_index`` (nearest-fingerprint search: numpy locally, Firestore
``find_nearest`` in the cloud), ``unionfind`` (stored union-find nodes, merged in transactions), ``membership``
(the chain step: one verdict joins or merges the clusters it links to), ``views`` (what the review page reads:
clusters, members, seller ranking). docs/evidence_review.md "Clusters" has the thresholds and their figures.
"""
