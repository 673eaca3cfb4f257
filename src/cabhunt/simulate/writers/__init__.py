"""One renderer per real output shape; ``files`` opens the (optionally gzip) outputs."""
