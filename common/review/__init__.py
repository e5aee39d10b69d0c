"""The human review page (queue, side-by-side item view, decisions) and its queue logic."""
