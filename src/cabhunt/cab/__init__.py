"""Forensic cabinet (MS-CAB) reader, safe extractor and member analyser."""
