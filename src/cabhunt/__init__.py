"""cabhunt: detect and investigate makecab/diantz abuse for ingress tool transfer (T1105)."""

__version__ = "0.1.0"
