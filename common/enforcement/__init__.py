"""From a confirmed verdict to a takedown: infringement claims, notices and platform exports, enforcement cases."""
