"""Renderers: every output format reads only the :class:`cabhunt.model.Alert` document."""
