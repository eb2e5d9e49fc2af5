"""One renderer per page: each turns a bundle of `kpi_web.gather` into the view its template
draws (plain data, coordinates computed here; no I/O)."""
